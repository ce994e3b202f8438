// Placeholder: the Policies module grows here.
