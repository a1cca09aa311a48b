namespace Hermod.Delivery.Configuration;

/// <summary>TLS toward the next hop.</summary>
public enum OutboundTls { None, Opportunistic, Required }
