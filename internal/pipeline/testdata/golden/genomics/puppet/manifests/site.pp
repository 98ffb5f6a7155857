# site.pp of seqlab: nodes are classified by kiln enc; its answer
# sets $genomics_requires, the order of the node's classes.
genomics::order(getvar('genomics_requires', {}))
