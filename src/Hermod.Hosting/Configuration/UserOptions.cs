namespace Hermod.Hosting.Configuration;

/// <summary>A user who may AUTH (an item of users:): the name and a hash made by 'hermod hash-password'.</summary>
public sealed class UserOptions
{
    public string Name { get; set; } = "";
    public string PasswordHash { get; set; } = "";
}
