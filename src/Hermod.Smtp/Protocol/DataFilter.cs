using System.Buffers;

namespace Hermod.Smtp.Protocol;

/// <summary>
/// Incremental filter for message content. In DATA mode it removes dot-stuffing and finds the one true end
/// of data, CRLF "." CRLF; in BDAT mode it passes content through. In both it enforces line endings
/// (a bare CR or LF is never a line end: it is flagged for rejection, or normalised to CRLF without
/// starting a line, so it can neither end the data nor smuggle a second message), the text-line limit
/// and the header-block limit. No I/O, no allocation; state carries across any split of the input.
/// </summary>
public sealed class DataFilter(bool dotStuffed, BareLineEndingPolicy policy, int maxLineLength, int maxHeaderSize)
{
    private enum State { LineStart, Mid, Cr, Dot, DotCr, Done }

    private State _state = State.LineStart;
    private long _lineLength;
    private bool _inHeader = true;
    private long _headerBytes;

    /// <summary>Body bytes produced (after unstuffing / normalising).</summary>
    public long Length { get; private set; }
    public bool Completed => _state == State.Done;
    public bool SawBareLineEnding { get; private set; }
    public bool LineTooLong { get; private set; }
    public bool HeaderTooLarge { get; private set; }

    /// <summary>
    /// Consumes input up to and including the end-of-data marker (DATA) or all of it (BDAT), writing content
    /// to <paramref name="output"/> (null: count and check only). Returns the number of input bytes consumed.
    /// </summary>
    public int Process(ReadOnlySpan<byte> input, IBufferWriter<byte>? output)
    {
        var i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.Done:
                    return i;
                case State.LineStart:
                    if (dotStuffed && input[i] == '.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                        _state = State.Mid;
                    break;
                case State.Mid:
                    var rest = input[i..];
                    var k = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    var run = k < 0 ? rest : rest[..k];
                    Emit(run, output);
                    _lineLength += run.Length;
                    i += run.Length;
                    if (k < 0)
                        break;
                    if (input[i] == '\r')
                        _state = State.Cr;
                    else
                        BareLineEnding(output);
                    i++;
                    break;
                case State.Cr:
                    if (input[i] == '\n')
                    {
                        EndLine();
                        Emit("\r\n"u8, output);
                        _state = State.LineStart;
                        i++;
                    }
                    else
                        BareLineEnding(output); // the CR before this byte; the byte itself is read again
                    break;
                case State.Dot:
                    if (input[i] == '\r')
                    {
                        _state = State.DotCr;
                        i++;
                    }
                    else
                        _state = State.Mid; // the leading dot is removed; the byte starts the line's content
                    break;
                case State.DotCr:
                    if (input[i] == '\n')
                    {
                        _state = State.Done;
                        return i + 1;
                    }
                    BareLineEnding(output); // ".\r" then not LF: dot removed, the CR is bare
                    break;
            }
        }
        return i;
    }

    /// <summary>For BDAT LAST: a CR left hanging at the very end is a bare CR; the last line is checked.</summary>
    public void Finish(IBufferWriter<byte>? output)
    {
        if (_state == State.Cr)
            BareLineEnding(output);
        if (_lineLength > maxLineLength - 2)
            LineTooLong = true;
    }

    private void BareLineEnding(IBufferWriter<byte>? output)
    {
        SawBareLineEnding = true;
        _state = State.Mid;
        if (policy == BareLineEndingPolicy.Normalize)
        {
            EndLine();
            Emit("\r\n"u8, output);
        }
    }

    /// <summary>Call before emitting the line's CRLF: the empty line that ends the header block is not part of it.</summary>
    private void EndLine()
    {
        if (_lineLength > maxLineLength - 2)
            LineTooLong = true;
        if (_inHeader && _lineLength == 0)
            _inHeader = false;
        _lineLength = 0;
    }

    private void Emit(ReadOnlySpan<byte> bytes, IBufferWriter<byte>? output)
    {
        if (bytes.IsEmpty)
            return;
        Length += bytes.Length;
        if (_inHeader)
        {
            _headerBytes += bytes.Length;
            if (_headerBytes > maxHeaderSize)
                HeaderTooLarge = true;
        }
        output?.Write(bytes);
    }
}
