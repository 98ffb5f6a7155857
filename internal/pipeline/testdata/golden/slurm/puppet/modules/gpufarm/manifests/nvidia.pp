# @summary The NVIDIA driver; the GPUs are Slurm generic resources (gres.conf
#   is written by kiln for each node).
#
# @param gpus
#   How many GPUs the node has.
# @param model
#   The GPU model, as the Slurm GRES type.
class gpufarm::nvidia (
  Integer[1] $gpus,
  Enum['a100', 'h100', 'l40s'] $model,
) {
  package { 'nvidia-driver':
    ensure => installed,
  }
  service { 'nvidia-persistenced':
    ensure  => running,
    enable  => true,
    require => Package['nvidia-driver'],
  }
  file { '/etc/slurm/gpufarm-gpus':
    ensure  => file,
    content => "# ${gpus} x ${model}, as gres.conf says.\n",
  }
}
