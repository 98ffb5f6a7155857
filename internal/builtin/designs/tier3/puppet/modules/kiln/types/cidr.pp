# @summary A network in CIDR form, e.g. 10.10.0.0/24 or fd00::/64.
type Kiln::Cidr = Variant[
  Pattern[/\A(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)\z/],
  Pattern[/\A[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\/(12[0-8]|1[01]\d|[1-9]?\d)\z/],
]
