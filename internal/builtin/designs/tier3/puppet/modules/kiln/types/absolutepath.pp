# @summary An absolute path on the node.
type Kiln::Absolutepath = Pattern[/\A\/([^\/\0]+\/?)*\z/]
