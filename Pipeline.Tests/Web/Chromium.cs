using Microsoft.Playwright;

namespace Pipeline.Tests.Web;

/// <summary>
/// Debian's chromium driven by Playwright (which cannot download its own browsers here); <c>.ci/run</c>
/// installs it. A test that needs it is skipped, with the reason, only when it cannot be launched.
/// </summary>
internal static class Chromium
{
    /// <summary>Where the browser is; <c>PIPELINE_CHROMIUM</c> overrides it.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("PIPELINE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchOrSkipAsync()
    {
        Skip.IfNot(File.Exists(ExecutablePath), $"No chromium at {ExecutablePath}: install Debian's chromium (.ci/run does) or set PIPELINE_CHROMIUM.");
        var playwright = await Playwright.CreateAsync();
        try
        {
            // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
            var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true, Args = ["--no-sandbox"] });
            return (playwright, browser);
        }
        catch (PlaywrightException exception)
        {
            playwright.Dispose();
            throw new SkipException($"Chromium at {ExecutablePath} could not be launched: {exception.Message}");
        }
    }
}
