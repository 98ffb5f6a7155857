# Makes a certificate signing request the way the Puppet agent does (puppet
# ssl), from a csr_attributes.yaml: Puppet's own loader of that file and
# Puppet's own request generator.
#
#   ruby csr.rb CERTNAME CSR_ATTRIBUTES_YAML   (the PEM request on stdout)
require 'puppet'
require 'puppet/ssl'

certname, attributes_file = ARGV
Puppet.initialize_settings(['--certname', certname])
attributes = Puppet::SSL::CertificateRequestAttributes.new(attributes_file)
raise "#{attributes_file} is not a csr_attributes file" unless attributes.load
key = OpenSSL::PKey::RSA.new(2048)
request = Puppet::SSL::CertificateRequest.new(certname)
request.generate(key, csr_attributes: attributes.custom_attributes,
                      extension_requests: attributes.extension_requests)
$stdout.write(request.content.to_pem)
