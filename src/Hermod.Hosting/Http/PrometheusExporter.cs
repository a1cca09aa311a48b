using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Hermod.Core.Diagnostics;

namespace Hermod.Hosting.Http;

/// <summary>Collects the "Hermod" meter's instruments and renders them in the Prometheus text format (0.0.4).</summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

    private sealed class Series
    {
        public double Value;
        public double[]? Buckets;
        public long[]? Counts;
        public long Count;
    }

    private sealed record Family(string Name, string Type, string Help, double[]? Buckets)
    {
        public ConcurrentDictionary<string, Series> Series { get; } = new();
    }

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();

    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != HermodMetrics.MeterName)
                return;
            _families[instrument] = Describe(instrument);
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private static Family Describe(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch { "s" => "_seconds", "By" => "_bytes", _ => "" };
        if (!name.EndsWith(unit, StringComparison.Ordinal))
            name += unit;
        var help = instrument.Description ?? name;
        return instrument switch
        {
            Counter<long> or Counter<double> => new Family(name + "_total", "counter", help, null),
            Histogram<long> or Histogram<double> => new Family(name, "histogram", help, instrument.Unit == "s" ? SecondsBuckets : CountBuckets),
            _ => new Family(name, "gauge", help, null),
        };
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_families.TryGetValue(instrument, out var family))
            return;
        var series = family.Series.GetOrAdd(Labels(tags), _ => new Series
        {
            Buckets = family.Buckets,
            Counts = family.Buckets is null ? null : new long[family.Buckets.Length],
        });
        lock (series)
        {
            series.Value += value;
            series.Count++;
            if (series.Buckets is { } buckets)
                for (var b = 0; b < buckets.Length; b++)
                    if (value <= buckets[b])
                        series.Counts![b]++;
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
            return "";
        var sb = new StringBuilder();
        foreach (var (key, value) in tags)
        {
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            sb.Append(sb.Length == 0 ? "" : ",").Append(key).Append("=\"")
              .Append(text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('"');
        }
        return sb.ToString();
    }

    public string Render()
    {
        var sb = new StringBuilder();
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            sb.Append("# HELP ").Append(family.Name).Append(' ').Append(family.Help).Append('\n');
            sb.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type).Append('\n');
            foreach (var (labels, series) in family.Series.OrderBy(s => s.Key, StringComparer.Ordinal))
                lock (series)
                {
                    if (series.Buckets is null)
                    {
                        sb.Append(family.Name).Append(Braces(labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                        continue;
                    }
                    for (var b = 0; b < series.Buckets.Length; b++)
                        sb.Append(family.Name).Append("_bucket").Append(Braces(Join(labels, $"le=\"{Number(series.Buckets[b])}\""))).Append(' ').Append(series.Counts![b]).Append('\n');
                    sb.Append(family.Name).Append("_bucket").Append(Braces(Join(labels, "le=\"+Inf\""))).Append(' ').Append(series.Count).Append('\n');
                    sb.Append(family.Name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                    sb.Append(family.Name).Append("_count").Append(Braces(labels)).Append(' ').Append(series.Count).Append('\n');
                }
        }
        return sb.ToString();
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : a + "," + b;

    private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

    private static string Number(double v) => v.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _listener.Dispose();
}
