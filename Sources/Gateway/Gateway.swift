// Placeholder: the Gateway module grows here.
