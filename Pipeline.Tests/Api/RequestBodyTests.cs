using Microsoft.AspNetCore.Http;
using Pipeline.Api.Events;

namespace Pipeline.Tests.Api;

/// <summary>What a body costs in memory: what arrived, never what Content-Length announced, and never past the limit.</summary>
public sealed class RequestBodyTests
{
    private const int MaxBytes = 4 * 1024 * 1024;

    [Fact]
    public async Task ABodyThatAnnouncesTheLimitButSendsLittleHoldsLittle()
    {
        var context = Request(new byte[100], contentLength: MaxBytes);

        var (body, problem) = await RequestBody.ReadAsync(context.Request, [RequestBody.Json], MaxBytes, CancellationToken.None);

        Assert.Null(problem);
        using (body)
        {
            Assert.Equal(100, body!.Content.Length);
            Assert.InRange(body.Capacity, 100, 16 * 1024);
        }
    }

    [Theory]
    [InlineData(MaxBytes, true)]
    [InlineData(MaxBytes + 1, false)]
    [InlineData(MaxBytes - 1, true)]
    public async Task ABodyUpToTheLimitIsReadInAtMostTheLimitAndOneByteMoreIsRefused(int size, bool accepted)
    {
        var context = Request(new byte[size], contentLength: null);

        var (body, problem) = await RequestBody.ReadAsync(context.Request, [RequestBody.Json], MaxBytes, CancellationToken.None);

        using (body)
        {
            Assert.Equal(accepted, problem is null);
            if (accepted)
            {
                Assert.Equal(size, body!.Content.Length);
                Assert.True(body.Capacity <= MaxBytes, $"A body of {size} bytes held {body.Capacity} bytes.");
            }
        }
    }

    private static DefaultHttpContext Request(byte[] content, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = contentLength;
        context.Request.Body = new MemoryStream(content);
        return context;
    }
}
