using Hermod.Core.Extensions;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Delivery.Targets;

/// <summary>The target types targets: can name besides those an extension adds (options in config/hermod.reference.yaml).</summary>
public static class BuiltInTargetTypes
{
    public static IReadOnlyList<ComponentRegistration<IDeliveryTarget>> All { get; } =
    [
        new("relay", c => ActivatorUtilities.CreateInstance<SmtpTarget>(c.Services, c.Name, c.Config)),
        new("maildir", c => ActivatorUtilities.CreateInstance<MaildirTarget>(c.Services, c.Name, c.Config)),
        new("http", c => ActivatorUtilities.CreateInstance<HttpTarget>(c.Services, c.Name, c.Config)),
    ];
}
