# @summary Orders a node's classes as the catalog's requires: lists say.
#
# Kiln's classification (nodes.pp, the ENC answer or the node's Hiera data)
# passes, for each class of the node, the classes of the node that must be
# applied before it. The relationships are resolved when the catalog is
# finished, so the classes may be declared in any order.
#
# @param requires
#   For each class of the node, the node's classes that come first.
# @return [Undef] Nothing: the relationships are the effect.
function kiln::order(Hash[String[1], Array[String[1]]] $requires) >> Undef {
  $requires.each |$class, $first| {
    $first.each |$c| {
      Class[$c] -> Class[$class]
    }
  }
  undef
}
