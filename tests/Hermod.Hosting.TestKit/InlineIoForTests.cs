using System.Runtime.CompilerServices;

namespace Hermod.Hosting.TestKit;

/// <summary>
/// The tests' hosts run their sockets as the hermod binary does (<see cref="InlineIo"/>): set before the first socket of
/// the test process. A module initializer runs when its own assembly is first used, which for the kit can be after a
/// test's first socket: so each test project that starts hosts compiles this file (linked in its project file), and the
/// kit does not.
/// </summary>
internal static class InlineIoForTests
{
    [ModuleInitializer]
    internal static void Enable() => InlineIo.Enable();
}
