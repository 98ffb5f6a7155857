# @summary A TCP or UDP port number.
type Kiln::Port = Integer[1, 65535]
