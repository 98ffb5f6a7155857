# @summary An IPv4 address in dotted-quad form, or an IPv6 address.
type Kiln::Ip = Variant[
  Pattern[/\A(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\z/],
  Pattern[/\A[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\z/],
]
