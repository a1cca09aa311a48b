using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hermod.Hosting.Http.V1;

/// <summary>
/// An attachment's base64 content, decoded straight from the request's UTF-8 into an array of its size: read as a
/// string first, a 20 MB attachment had taken 53 MB of UTF-16 on the way. Base64 broken into lines or escaped in the
/// JSON, which the API has always taken, is decoded through a string. Text that is not base64 reads as null, so that
/// its field is reported with the spec's other problems; a JSON null reads as no content.
/// </summary>
internal sealed class Base64Converter : JsonConverter<byte[]?>
{
    public override bool HandleNull => true;

    public override byte[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return [];
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException();
        if (!reader.HasValueSequence && !reader.ValueIsEscaped && TryDecode(reader.ValueSpan, out var bytes))
            return bytes;
        try
        {
            return Convert.FromBase64String(reader.GetString()!);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public override void Write(Utf8JsonWriter writer, byte[]? value, JsonSerializerOptions options)
    {
        if (value is null)
            writer.WriteNullValue();
        else
            writer.WriteBase64StringValue(value);
    }

    /// <summary>Decodes base64 without white space into an array of exactly its size; false for anything else.</summary>
    private static bool TryDecode(ReadOnlySpan<byte> utf8, out byte[] bytes)
    {
        var padding = utf8.EndsWith("=="u8) ? 2 : utf8.EndsWith("="u8) ? 1 : 0;
        bytes = new byte[Math.Max(0, Base64.GetMaxDecodedFromUtf8Length(utf8.Length) - padding)];
        return Base64.DecodeFromUtf8(utf8, bytes, out _, out var written) == OperationStatus.Done && written == bytes.Length;
    }
}
