using System.Net;

namespace Hermod.Smtp.Server;

/// <summary>Counts open connections in total and per client address.</summary>
public sealed class ConnectionLimiter(int maxTotal, int maxPerAddress)
{
    public enum Result { Ok, TooManyTotal, TooManyFromAddress }

    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private int _total;

    public Result TryAcquire(IPAddress address)
    {
        lock (_perAddress)
        {
            if (_total >= maxTotal)
                return Result.TooManyTotal;
            _perAddress.TryGetValue(address, out var n);
            if (n >= maxPerAddress)
                return Result.TooManyFromAddress;
            _perAddress[address] = n + 1;
            _total++;
            return Result.Ok;
        }
    }

    public void Release(IPAddress address)
    {
        lock (_perAddress)
        {
            _total--;
            if (_perAddress[address] == 1)
                _perAddress.Remove(address);
            else
                _perAddress[address]--;
        }
    }
}
