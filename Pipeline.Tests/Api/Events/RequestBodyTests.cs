using Microsoft.AspNetCore.Http;
using Pipeline.Api.Events;
using Pipeline.Api.Http;

namespace Pipeline.Tests.Api.Events;

/// <summary>What a body costs in memory: what arrived, never what Content-Length announced, and never past the limit.</summary>
public sealed class RequestBodyTests
{
    private const int MaxBytes = 4 * 1024 * 1024;

    [Fact]
    public async Task ABodyThatAnnouncesTheLimitButSendsLittleHoldsLittle()
    {
        var context = Request(new byte[100], contentLength: MaxBytes);

        var read = await RequestBody.ReadAsync(context.Request, [RequestBody.Json], MaxBytes, CancellationToken.None);

        Assert.True(read.Succeeded);
        using (read.Body)
        {
            Assert.Equal(100, read.Body.Content.Length);
            Assert.InRange(read.Body.Capacity, 100, 16 * 1024);
        }
    }

    [Theory]
    [InlineData(MaxBytes, true)]
    [InlineData(MaxBytes + 1, false)]
    [InlineData(MaxBytes - 1, true)]
    public async Task ABodyUpToTheLimitIsReadInAtMostTheLimitAndOneByteMoreIsRefused(int size, bool accepted)
    {
        var context = Request(new byte[size], contentLength: null);

        var read = await RequestBody.ReadAsync(context.Request, [RequestBody.Json], MaxBytes, CancellationToken.None);

        using (read.Body)
        {
            Assert.Equal(accepted, read.Succeeded);
            if (read.Succeeded)
            {
                Assert.Equal(size, read.Body.Content.Length);
                Assert.True(read.Body.Capacity <= MaxBytes, $"A body of {size} bytes held {read.Body.Capacity} bytes.");
            }
            else
            {
                Assert.Equal(ErrorCodes.BodyTooLarge, ApiProblems.CodeOf(read.Problem));
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
