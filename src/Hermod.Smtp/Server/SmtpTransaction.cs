using System.Buffers;
using Hermod.Core.Pipeline;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Server;

/// <summary>
/// One mail transaction of a session, from MAIL until its message is answered (or RSET, a new greeting, TLS, the
/// session's end): the envelope accepted so far, the pipeline's and cut-through's transactions, and — once the
/// content begins — where it goes: the DATA filter, the blob it is staged in, the stream processors' sink and the
/// copy streaming on to the next hops.
/// Disposing it lets go of what it still holds and leaves it empty: the session keeps one and begins it again at
/// its next MAIL, so a transaction allocates nothing of its own.
/// </summary>
internal sealed class SmtpTransaction : IDisposable, IAsyncDisposable
{
    private readonly List<EnvelopeRecipient> _recipients = [];
    private IPipelineTransaction? _pipeline;
    private bool _contentBegins; // the content began in this batch: the next hops hear of it once the replies are out
    private IBufferWriter<byte>? _bodyWriter; // the sink, or the sink and the next hops

    public string QueueId { get; private set; } = "";

    /// <summary>The envelope sender after the pipeline's rewrites.</summary>
    public string Sender { get; private set; } = "";

    public MailParameters Parameters { get; private set; }

    /// <summary>The pipeline's side of the transaction: its deliveries are what is stored.</summary>
    public IPipelineTransaction Pipeline => _pipeline ?? throw new InvalidOperationException("No transaction has begun.");

    /// <summary>The next hops' side; null when cut-through is off for the transaction.</summary>
    public ICutThroughTransaction? CutThrough { get; private set; }

    /// <summary>The recipients the client was given 250 for, as it named them.</summary>
    public IReadOnlyList<EnvelopeRecipient> Recipients => _recipients;

    public DataFilter? Filter { get; private set; }

    /// <summary>The staged body, until <see cref="TakeBlob"/> hands it on to be stored.</summary>
    public IBlobWriter? Blob { get; private set; }

    public BodySink? Sink { get; private set; }

    /// <summary>The content going on to the next hops as it arrives, and what they got in front of it.</summary>
    public ICutThroughContent? Streamed { get; private set; }

    public string? StreamedPrefix { get; private set; }

    /// <summary>Past the size limit: the content is read to its end and refused; nothing more is stored.</summary>
    public bool TooBig { get; private set; }

    /// <summary>When the content began (<see cref="TimeProvider.GetTimestamp"/>) and how many octets came since: the data rate.</summary>
    public long ContentStarted { get; private set; }

    public long ContentBytes { get; set; }

    /// <summary>Where the DATA filter writes: the sink (and the next hops), or nowhere once the message is too big.</summary>
    public IBufferWriter<byte>? BodyTarget => TooBig ? null : _bodyWriter;

    /// <summary>MAIL accepted: the transaction begins.</summary>
    public void Begin(string queueId, IPipelineTransaction pipeline, MailParameters parameters, ICutThroughTransaction? cutThrough)
    {
        QueueId = queueId;
        _pipeline = pipeline;
        Sender = pipeline.Sender;
        Parameters = parameters;
        CutThrough = cutThrough;
    }

    public void AddRecipient(EnvelopeRecipient recipient) => _recipients.Add(recipient);

    /// <summary>
    /// DATA, or the first BDAT chunk: the content begins, into <paramref name="sink"/> over <paramref name="blob"/>,
    /// and on to the next hops as it arrives when nothing still to come can change what precedes it.
    /// </summary>
    public void BeginContent(DataFilter filter, IBlobWriter blob, BodySink sink, long started)
    {
        Filter = filter;
        Blob = blob;
        Sink = sink;
        StreamedPrefix = CutThrough is not null && sink.PrefixAtStart is { } trace && Pipeline.FieldsBeforeBody is { } fields ? trace + fields : null;
        Streamed = CutThrough?.OpenContent(StreamedPrefix);
        _bodyWriter = Streamed is null ? sink : new ContentTee(sink, Streamed);
        TooBig = false;
        ContentStarted = started;
        ContentBytes = 0;
        _contentBegins = CutThrough is not null;
    }

    /// <summary>After the batch's replies are out (the client has its 354 or the first chunk's 250): the next hops open their content phase while the content comes.</summary>
    public void AnnounceContent()
    {
        if (!_contentBegins)
            return;
        _contentBegins = false;
        CutThrough?.ContentBegins();
    }

    /// <summary>Marks the message too big once the content is past <paramref name="maxSize"/>: it is read to its end, storing nothing more.</summary>
    public void CheckSize(long maxSize)
    {
        if (!TooBig && Filter!.Length > maxSize)
            TooBig = true;
    }

    /// <summary>A full chunk goes to storage; what streams to the next hops goes on (waiting while one is far behind).</summary>
    public async ValueTask FlushContentAsync(CancellationToken cancellationToken)
    {
        if (TooBig)
            return;
        if (Sink!.ShouldFlush)
            await Sink.FlushAsync(cancellationToken);
        if (Streamed is not null)
            await Streamed.FlushAsync(cancellationToken);
    }

    /// <summary>The staged body, handed on to be stored: whoever takes it disposes it.</summary>
    public IBlobWriter TakeBlob()
    {
        var blob = Blob!;
        Blob = null;
        return blob;
    }

    /// <summary>
    /// The transaction ends without the session ending: what is still open goes, without waiting — the next hops'
    /// transactions are closed and the staged body dropped in the background (neither throws).
    /// </summary>
    public void Dispose()
    {
        _pipeline = null;
        _contentBegins = false;
        if (CutThrough is not null)
        {
            _ = CutThrough.DisposeAsync().AsTask(); // closes what is still open upstream; never throws
            CutThrough = null;
        }
        Sender = "";
        _recipients.Clear();
        Parameters = default;
        Filter = null;
        TooBig = false;
        Streamed?.Fail(); // not accepted: no next hop reaches its end of data (nothing once the data was handed on)
        Streamed = null;
        StreamedPrefix = null;
        _bodyWriter = null;
        Sink?.Dispose();
        Sink = null;
        if (Blob is not null)
        {
            _ = Blob.DisposeAsync().AsTask(); // drops the staged body
            Blob = null;
        }
    }

    /// <summary>The session ends: the next hops' transactions are closed and the staged body dropped before it is over.</summary>
    public async ValueTask DisposeAsync()
    {
        if (CutThrough is not null)
            await CutThrough.DisposeAsync();
        CutThrough = null;
        Sink?.Dispose();
        Sink = null;
        if (Blob is not null)
            await Blob.DisposeAsync();
        Blob = null;
    }
}
