# Compiles Puppet catalogs the way puppetserver does (the compiler terminus,
# node classification by the configured node_terminus), for many nodes in
# one Ruby process: Puppet's start-up is the slow part, a compile takes a
# fraction of a second. Each node's facts are FACTSDIR/CERTNAME.json, as the
# agent would have uploaded them.
#
#   ruby compile.rb CONFDIR CODEDIR VARDIR FACTSDIR CERTNAME...
#
# Prints one JSON object per node: certname, catalog (or error), and every
# warning or error Puppet logged while compiling it.
require 'puppet'
require 'json'

confdir, codedir, vardir, factsdir, *certnames = ARGV
# Settings come from puppet.conf's [main] section (the script runs in
# Puppet's user run mode, which does not read [server]).
Puppet.initialize_settings(['--confdir', confdir, '--codedir', codedir, '--vardir', vardir])
Puppet::ApplicationSupport.push_application_context(Puppet::Util::RunMode[:server])
Puppet::Resource::Catalog.indirection.terminus_class = :compiler
Puppet::Node::Facts.indirection.terminus_class = :memory
Puppet::Util::Log.close_all
logs = []
Puppet::Util::Log.newdestination(Puppet::Test::LogCollector.new(logs))
Puppet::Util::Log.level = :warning

certnames.each do |certname|
  logs.clear
  out = { certname: certname }
  trusted = Puppet::Context::TrustedInformation.new('remote', certname, {})
  begin
    values = JSON.parse(File.read(File.join(factsdir, "#{certname}.json")))
    Puppet::Node::Facts.indirection.save(Puppet::Node::Facts.new(certname, values))
    Puppet.override(trusted_information: trusted) do
      catalog = Puppet::Resource::Catalog.indirection.find(certname)
      out[:catalog] = catalog.to_data_hash
    end
  rescue Exception => e # every failure is the node's result, not the script's
    out[:error] = e.message
  end
  out[:logs] = logs.map { |l| "#{l.level}: #{l.message}" }
  $stdout.puts JSON.generate(out)
  $stdout.flush
end
