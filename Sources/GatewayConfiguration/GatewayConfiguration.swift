// Placeholder: the GatewayConfiguration module grows here.
