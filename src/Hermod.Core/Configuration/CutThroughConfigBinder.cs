namespace Hermod.Core.Configuration;

/// <summary>Reads <c>cut_through: false | true | { enabled, rcpt_timeout, data_timeout }</c>, as listeners and http: write it.</summary>
public static class CutThroughConfigBinder
{
    public static CutThroughOptions Bind(ConfigSection parent)
    {
        var o = new CutThroughOptions();
        switch (parent.Node("cut_through"))
        {
            case null:
                break;
            case ConfigScalar:
                o.Enabled = parent.Bool("cut_through") ?? o.Enabled;
                break;
            case ConfigMap:
                var section = parent.Section("cut_through")!;
                section.Known("enabled", "rcpt_timeout", "data_timeout");
                o.Enabled = section.Bool("enabled") ?? o.Enabled;
                o.RcptTimeout = section.Duration("rcpt_timeout") ?? o.RcptTimeout;
                o.DataTimeout = section.Duration("data_timeout") ?? o.DataTimeout;
                break;
            case var other:
                parent.Error(other, "cut_through", "must be true, false or { enabled, rcpt_timeout, data_timeout }");
                break;
        }
        return o;
    }
}
