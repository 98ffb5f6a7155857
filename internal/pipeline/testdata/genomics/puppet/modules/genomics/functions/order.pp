# @summary Orders a node's classes as the catalog's requires: lists say.
# @param requires For each class of the node, the node's classes that come first.
# @return [Undef] Nothing: the relationships are the effect.
function genomics::order(Hash[String[1], Array[String[1]]] $requires) >> Undef {
  $requires.each |$class, $first| {
    $first.each |$c| {
      Class[$c] -> Class[$class]
    }
  }
  undef
}
