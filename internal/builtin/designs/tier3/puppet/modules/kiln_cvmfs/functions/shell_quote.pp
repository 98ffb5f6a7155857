# @summary A string as one bash word: in single quotes, each quote in it
#   written '\''. CernVM-FS reads its configuration files with bash.
# @param value
#   The string to quote.
function kiln_cvmfs::shell_quote(String $value) >> String {
  "'${value.regsubst("'", "'\\\\''", 'G')}'"
}
