# @summary PostgreSQL with the sample-tracking database's role.
#
# @param app_password
#   The role's password as PostgreSQL stores it (the secret's scram-sha-256
#   format): ALTER ROLE ... PASSWORD takes the verifier as it is.
class genomics::postgres (
  Pattern[/\ASCRAM-SHA-256\$4096:[A-Za-z0-9+\/=]+\$[A-Za-z0-9+\/=]+:[A-Za-z0-9+\/=]+\z/] $app_password,
) {
  package { 'postgresql-server':
    ensure => installed,
  }
  file { '/root/genomics-role.sql':
    ensure  => file,
    mode    => '0600',
    content => Sensitive("ALTER ROLE samples LOGIN PASSWORD '${app_password}';\n"),
  }
}
