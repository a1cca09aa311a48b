using System.Runtime.CompilerServices;
using Hermod.Hosting;

namespace Hermod.Tests.TestKit;

/// <summary>The tests' hosts run their sockets as the hermod binary does (<see cref="InlineIo"/>): set before the first socket of the test process.</summary>
internal static class InlineIoForTests
{
    [ModuleInitializer]
    internal static void Enable() => InlineIo.Enable();
}
