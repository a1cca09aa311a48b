using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hermod.Hosting.Http.V1;

/// <summary>JSON as the API writes and reads it: snake_case names, nulls left out.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
