# @summary A host name (RFC 1123): labels of letters, digits and hyphens,
#   dot-separated. Kiln checks label lengths before it writes the value.
type Kiln::Hostname = Pattern[/\A[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\z/]
