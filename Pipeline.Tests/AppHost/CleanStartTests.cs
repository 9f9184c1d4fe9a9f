using System.Text.RegularExpressions;

namespace Pipeline.Tests.AppHost;

/// <summary>A clean start, as the dashboard shows it: no service logs an error (a red badge) on the way.</summary>
[Collection(PipelineAppCollection.Name)]
public sealed partial class CleanStartTests(PipelineAppFixture fixture)
{
    [Fact]
    public void NoServiceLogsAnErrorOnACleanStart()
    {
        Assert.NotNull(fixture.App);
        var startup = PipelineAppFixture.StartupLogs;
        Assert.Equal(PipelineAppFixture.Services.Order(), startup.Keys.Order());

        // The console formatter marks Information "info:", Error "fail:" and Critical "crit:" (in colour).
        var lines = startup.SelectMany(service => service.Value.Select(line => (Service: service.Key, Line: Colour().Replace(line, "")))).ToList();
        Assert.Contains(lines, line => line.Line.Contains("info: ", StringComparison.Ordinal));
        var errors = lines.Where(line => line.Line.Contains("fail: ", StringComparison.Ordinal) || line.Line.Contains("crit: ", StringComparison.Ordinal))
            .Select(line => $"{line.Service}: {line.Line}")
            .ToList();
        Assert.True(errors.Count == 0, "Errors logged on a clean start:\n" + string.Join("\n", errors.Take(20)));
    }

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex Colour();
}
