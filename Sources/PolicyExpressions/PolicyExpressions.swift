// Placeholder: the PolicyExpressions module grows here.
