# site.pp of gpufarm: nodes are classified by kiln enc; its answer
# sets $gpufarm_requires, the order of the node's classes.
gpufarm::order(getvar('gpufarm_requires', {}))
