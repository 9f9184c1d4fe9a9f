using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Pipeline.Api.Http;

namespace Pipeline.Api.Aggregates;

/// <summary>
/// The <c>cursor</c> of a window page: the last window start a page returned (microseconds since
/// the epoch, the precision PostgreSQL keeps), signed with an HMAC over that instant, the key and
/// the window size. A cursor the API did not issue for this key and size, however it was made,
/// is refused (400 <c>invalid-cursor</c>) before anything is computed from it. The signing key is
/// derived from the configured API keys, so every replica with the same configuration accepts
/// the others' cursors; rotating <c>Api:Keys</c> ends the cursors in flight (a client then starts
/// from the first page again).
/// </summary>
public sealed class WindowCursors
{
    private const int InstantBytes = 8;
    private const int MacBytes = 16;
    private const int TokenLength = 32; // base64url of 24 bytes, no padding

    // The largest instant a DateTimeOffset holds, in microseconds since the epoch.
    private static readonly long MaxMicros = (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private readonly byte[] _signingKey;

    public WindowCursors(IOptions<ApiKeyOptions> keys)
    {
        var material = Encoding.UTF8.GetBytes(string.Join('\n', keys.Value.Keys.Order(StringComparer.Ordinal)));
        _signingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: [], info: "pipeline window cursor v1"u8.ToArray());
    }

    public string Encode(DateTimeOffset lastWindowStart, string key, string size)
    {
        Span<byte> token = stackalloc byte[InstantBytes + MacBytes];
        BinaryPrimitives.WriteInt64BigEndian(token, (lastWindowStart.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        Sign(token[..InstantBytes], key, size, token[InstantBytes..]);
        return Base64Url.EncodeToString(token);
    }

    public bool TryDecode(string? cursor, string key, string size, [NotNullWhen(true)] out DateTimeOffset? after)
    {
        after = null;
        Span<byte> token = stackalloc byte[InstantBytes + MacBytes + 1];
        if (cursor is not { Length: TokenLength } || !Base64Url.IsValid(cursor) || !Base64Url.TryDecodeFromChars(cursor, token, out var written) || written != InstantBytes + MacBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Sign(token[..InstantBytes], key, size, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, token.Slice(InstantBytes, MacBytes)))
        {
            return false;
        }

        // Checked before any arithmetic, though a signed cursor was made from a real instant.
        var micros = BinaryPrimitives.ReadInt64BigEndian(token);
        if (micros is < 0 || micros > MaxMicros)
        {
            return false;
        }

        after = new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + micros * 10, TimeSpan.Zero);
        return true;
    }

    private void Sign(ReadOnlySpan<byte> instant, string key, string size, Span<byte> mac)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _signingKey);
        hmac.AppendData(instant);
        hmac.AppendData(Encoding.UTF8.GetBytes(size));
        hmac.AppendData([0]);
        hmac.AppendData(Encoding.UTF8.GetBytes(key));
        Span<byte> full = stackalloc byte[SHA256.HashSizeInBytes];
        hmac.GetHashAndReset(full);
        full[..MacBytes].CopyTo(mac);
    }
}
