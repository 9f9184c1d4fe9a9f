using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Pipeline.Api.Aggregates;

/// <summary>The examples the query endpoints show in their OpenAPI description.</summary>
internal static class OpenApiExamples
{
    public const string Totals = """
        { "key": "sensor-42", "count": 3, "sum": 61.5, "min": 12.5, "max": 27, "mean": 20.5, "updatedAt": "2030-01-02T03:04:05.678+00:00" }
        """;

    public const string KeyNotFound = """
        { "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Unknown key", "status": 404,
          "detail": "No event with key 'sensor-43' has been aggregated.", "code": "key-not-found" }
        """;

    public const string Windows = """
        { "key": "sensor-42", "size": "1m",
          "items": [
            { "windowStart": "2030-01-02T03:03:00+00:00", "windowEnd": "2030-01-02T03:04:00+00:00", "count": 2, "sum": 34.5, "min": 12.5,
              "max": 22, "mean": 17.25, "final": true, "updatedAt": "2030-01-02T03:03:41.200+00:00" },
            { "windowStart": "2030-01-02T03:04:00+00:00", "windowEnd": "2030-01-02T03:05:00+00:00", "count": 1, "sum": 27, "min": 27,
              "max": 27, "mean": 27, "final": false, "updatedAt": "2030-01-02T03:04:05.678+00:00" } ],
          "nextCursor": "AAcO0Cq7ugCJ3Lx0pZ1yQ0m1s4TzVh8K" }
        """;

    public const string UnknownSize = """
        { "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "Invalid query", "status": 400,
          "detail": "Unknown window size '5m'; known sizes: 1m, 1h.", "code": "unknown-window-size" }
        """;

    public const string TopKeys = """
        { "orderBy": "count",
          "items": [
            { "key": "sensor-42", "count": 3, "sum": 61.5, "min": 12.5, "max": 27, "mean": 20.5, "updatedAt": "2030-01-02T03:04:05.678+00:00" },
            { "key": "sensor-7", "count": 1, "sum": 4, "min": 4, "max": 4, "mean": 4, "updatedAt": "2030-01-02T02:59:59.100+00:00" } ] }
        """;

    public const string ChangeEvent = """
        { "key": "sensor-42", "window": "1m", "windowStart": "2030-01-02T03:04:00+00:00", "windowEnd": "2030-01-02T03:05:00+00:00",
          "count": 1, "sum": 27, "min": 27, "max": 27, "mean": 27, "final": false, "version": 5, "updatedAt": "2030-01-02T03:04:05.678+00:00" }
        """;

    /// <summary>
    /// Documents a query parameter the handler reads as text (so that a word or a number past
    /// Int32 gets the endpoint's own error code, not a binding failure) as the integer it must be.
    /// </summary>
    public static RouteHandlerBuilder WithIntegerParameter(this RouteHandlerBuilder endpoint, string name, int minimum, int maximum) =>
        endpoint.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Parameters?.FirstOrDefault(parameter => parameter.Name == name) is OpenApiParameter parameter)
            {
                parameter.Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Integer,
                    Format = "int32",
                    Minimum = minimum.ToString(CultureInfo.InvariantCulture),
                    Maximum = maximum.ToString(CultureInfo.InvariantCulture),
                };
            }

            return Task.CompletedTask;
        });

    /// <summary>Sets the example of one response's content type in the endpoint's OpenAPI operation.</summary>
    public static RouteHandlerBuilder WithResponseExample(this RouteHandlerBuilder endpoint, int status, string contentType, string json) =>
        endpoint.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var code = status.ToString(CultureInfo.InvariantCulture);
            if (operation.Responses?.TryGetValue(code, out var response) == true && response.Content is { } content)
            {
                if (!content.TryGetValue(contentType, out var media))
                {
                    media = new OpenApiMediaType();
                    content[contentType] = media;
                }

                media.Example = JsonNode.Parse(json);
            }

            return Task.CompletedTask;
        });
}
