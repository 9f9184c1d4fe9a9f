using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Pipeline.Api.Http;

namespace Pipeline.Api.Events;

/// <summary>
/// A request body read whole into a pooled buffer, after its content type was checked (415) and
/// while its size is counted (413, whether or not Content-Length was sent). Return it with Dispose.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    public const string Json = "application/json";
    public const string Ndjson = "application/x-ndjson";

    private const int InitialSize = 16 * 1024;

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    private byte[] _buffer;
    private int _length;

    private RequestBody(string mediaType, int initialSize)
    {
        MediaType = mediaType;
        _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    }

    /// <summary>How many bytes the body holds in memory, read or not.</summary>
    internal int Capacity => _buffer.Length;

    /// <summary>The body's media type: one of those the endpoint accepts.</summary>
    public string MediaType { get; }

    /// <summary>The body, without a UTF-8 byte order mark.</summary>
    public ReadOnlySpan<byte> Content
    {
        get
        {
            var content = _buffer.AsSpan(0, _length);
            return content.StartsWith(Utf8Bom) ? content[Utf8Bom.Length..] : content;
        }
    }

    /// <summary>Reads the body, or says why not: 415 for another content type (or charset), 413 over <paramref name="maxBytes"/>.</summary>
    public static async Task<BodyRead> ReadAsync(
        HttpRequest request, IReadOnlyList<string> mediaTypes, long maxBytes, CancellationToken cancellationToken)
    {
        var mediaType = Negotiate(request.ContentType, mediaTypes);
        if (mediaType is null)
        {
            return ApiProblems.Problem(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedMediaType,
                "Unsupported content type.",
                $"Send the body as {string.Join(" or ", mediaTypes)} (UTF-8); got '{request.ContentType ?? "none"}'.");
        }

        if (request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes);
        }

        // Kestrel enforces the same limit on chunked bodies; test servers have no such feature.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = maxBytes;
        }

        // Sized by what arrives, never by what Content-Length announces: a client that announces
        // 4 MiB and sends a byte a minute holds 16 KiB, not 4 MiB. Nor does the buffer ever go
        // past the limit: a full buffer at the limit is followed by a one-byte probe.
        var body = new RequestBody(mediaType, (int)Math.Min(InitialSize, maxBytes));
        try
        {
            while (true)
            {
                if (body._length == body._buffer.Length)
                {
                    if (body._length >= maxBytes)
                    {
                        var probe = new byte[1];
                        if (await request.Body.ReadAsync(probe, cancellationToken) == 0)
                        {
                            return body;
                        }

                        body.Dispose();
                        return TooLarge(maxBytes);
                    }

                    body.Grow((int)Math.Min((long)body._buffer.Length * 2, maxBytes));
                }

                var read = await request.Body.ReadAsync(body._buffer.AsMemory(body._length), cancellationToken);
                if (read == 0)
                {
                    return body;
                }

                body._length += read;
                if (body._length > maxBytes)
                {
                    body.Dispose();
                    return TooLarge(maxBytes);
                }
            }
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body.Dispose();
            return TooLarge(maxBytes);
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Grow(int size)
    {
        var larger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    private static string? Negotiate(string? contentType, IReadOnlyList<string> mediaTypes)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return null;
        }

        var charset = parsed.Charset.Value?.Trim('"');
        if (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return mediaTypes.FirstOrDefault(accepted => parsed.MediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase));
    }

    private static ProblemHttpResult TooLarge(long maxBytes) =>
        ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.BodyTooLarge,
            "The request body is too large.", $"The body may be at most {maxBytes} bytes; send fewer events per request.");
}
