namespace Hermod.Hosting;

/// <summary>
/// Socket work runs where the socket's event arrives. When a read or write completes, the code waiting for it — an SMTP
/// session's next command, the outbound client's next reply, an HTTP request — goes on at once on the I/O thread that
/// saw the event, instead of being queued to the thread pool and picked up by another thread. An SMTP exchange is
/// many small round trips, so this saves two thread hand-overs per command: on 2 cores it halved the CPU per relayed
/// message and cut the time a message takes through cut-through by a quarter (bench/cutthrough.sh). Code reached that
/// way must not block: storage writes go to the group-commit thread, checks and DNS are asynchronous.
/// <para>
/// On unless the environment sets <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> to anything but 1 before Hermod
/// starts (read by the runtime once, at the first socket).
/// </para>
/// </summary>
internal static class InlineIo
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns it on unless the environment has decided; before the process's first socket.</summary>
    public static void Enable()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
            Environment.SetEnvironmentVariable(Variable, "1");
    }

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";
}
