# site.pp: the main manifest of mytier3's Puppet environment.
# Written by kiln; the classifier is enc (puppet_server.classifier).
#
# Nodes are classified by kiln enc (puppetserver's external_nodes). Its
# answer sets the top-scope variable $kiln_requires: the order of the node's
# classes, which kiln::order declares.
kiln::order(getvar('kiln_requires', {}))
