using Hermod.Core.Configuration;

namespace Hermod.Core.Extensions;

/// <summary>What a component factory gets: the instance name (a target's name, else the kind), its options section and the services.</summary>
public sealed record ComponentContext(string Name, ConfigSection Config, IServiceProvider Services);
