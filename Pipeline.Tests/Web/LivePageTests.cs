using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Tests.AppHost;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Pipeline.Tests.Web;

/// <summary>
/// The live page (<c>web</c>) in a real browser, through the AppHost: events posted to the API
/// change the totals and the chart on the page without a reload, and taking the database down
/// shows "Reconnecting" until it is back, when the page is live again.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class LivePageTests(PipelineAppFixture fixture, ITestOutputHelper output)
{
    private static readonly LocatorAssertionsToHaveTextOptions Soon = new() { Timeout = 30_000 };

    [SkippableFact]
    public async Task PostedEventsChangeTheTotalsAndTheChartLiveAndTheDatabaseOutageShowsReconnecting()
    {
        var (playwright, browser) = await Chromium.LaunchOrSkipAsync();
        using var _ = playwright;
        await using var __ = browser;
        var elapsed = Stopwatch.StartNew();
        var key = $"web-{Guid.NewGuid():N}"[..16];
        using var api = fixture.CreateApiClient();

        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 1000 } });
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        await page.GotoAsync(fixture.App.GetEndpoint("web", "http").ToString());
        await Expect(page.GetByTestId("connection-state")).ToHaveTextAsync("Live", Soon);
        await Expect(page.GetByTestId("backlog-events")).ToContainTextAsync("on events");
        await Expect(page.GetByTestId("backlog-aggregates")).ToContainTextAsync("on aggregates");

        // Totals: the key appears and its count moves as events land, without a reload.
        await page.GetByRole(AriaRole.Radio, new() { Name = "Last update" }).ClickAsync();
        await PostAsync(api, key, 2, 3);
        var row = page.Locator($"tr[data-key='{key}']");
        await Expect(row.GetByTestId("count")).ToHaveTextAsync("3", Soon);
        await Expect(row.GetByTestId("sum")).ToHaveTextAsync("6", Soon);

        // The chart: chosen by keyboard from the table, its open 1m window grows with new events.
        await row.GetByRole(AriaRole.Button, new() { Name = key }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var minutes = page.GetByTestId("summary-1m");
        await Expect(minutes).ToContainTextAsync(InAll(3), new() { Timeout = 30_000 });
        await Expect(minutes).ToContainTextAsync(", open: count");
        var columns = page.GetByTestId("chart-1m").Locator(".rz-column-series");
        var before = await columns.EvaluateAllAsync<string>("series => series.map(s => s.innerHTML).join()");
        await PostAsync(api, key, 4, 2);
        await Expect(row.GetByTestId("count")).ToHaveTextAsync("5", Soon);
        await Expect(minutes).ToContainTextAsync(InAll(5), new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("summary-1h")).ToContainTextAsync(InAll(5), new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("ingest-rate")).Not.ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^0\\.0 "));
        Assert.NotEqual(before, await columns.EvaluateAllAsync<string>("series => series.map(s => s.innerHTML).join()"));
        await ScreenshotAsync(browser, page, "live-page", key);
        await AssertAccessibleAsync(page);

        // The database taken down: the page says it is reconnecting, keeps its figures, and is live again after.
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var down = await commands.ExecuteCommandAsync("postgres", LocalPostgresBuilderExtensions.TakeDownCommand);
        Assert.True(down.Success, down.Message);
        try
        {
            await Expect(page.GetByTestId("connection-state")).ToHaveTextAsync("Reconnecting…", Soon);
            await Expect(row.GetByTestId("count")).ToHaveTextAsync("5");
            await page.ScreenshotAsync(new() { Path = ScreenshotPath("live-page-reconnecting-1280") });
        }
        finally
        {
            await fixture.App.ResourceNotifications.WaitForResourceAsync("postgres", KnownResourceStates.TerminalStates)
                .WaitAsync(TimeSpan.FromSeconds(30));
            var up = await commands.ExecuteCommandAsync("postgres", KnownResourceCommands.StartCommand);
            Assert.True(up.Success, up.Message);
        }

        await Expect(page.GetByTestId("connection-state")).ToHaveTextAsync("Live", new() { Timeout = 90_000 });
        await PostAsync(api, key, 1, 1);
        await Expect(row.GetByTestId("count")).ToHaveTextAsync("6", Soon);
        await Expect(minutes).ToContainTextAsync(InAll(6), new() { Timeout = 30_000 });

        Assert.Empty(pageErrors);
        output.WriteLine($"The live page test took {elapsed.Elapsed.TotalSeconds:0} s.");
    }

    // axe-core's WCAG 2 A and AA rules on the page as a user sees it (a key chosen, figures shown).
    private static async Task AssertAccessibleAsync(IPage page)
    {
        var results = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        var violations = results.Violations.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => n.Target?.ToString()))}").ToList();
        Assert.NotEmpty(results.Passes);
        Assert.True(violations.Count == 0, "Accessibility violations:\n" + string.Join("\n", violations));
    }

    // Windows' counts added up: the same whichever minute (or hour) the events fell in.
    private static System.Text.RegularExpressions.Regex InAll(int events) => new($@"\b{events} events in all\.");

    private static async Task PostAsync(HttpClient api, string key, double value, int events)
    {
        for (var i = 0; i < events; i++)
        {
            using var response = await api.PostAsJsonAsync("/api/events", new { key, value });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
    }

    // The same page at phone width, for the README and for a look by eye.
    private async Task ScreenshotAsync(IBrowser browser, IPage page, string name, string key)
    {
        await page.ScreenshotAsync(new() { Path = ScreenshotPath($"{name}-1280"), FullPage = true });
        var phone = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 390, Height = 844 } });
        await phone.GotoAsync(page.Url);
        await Expect(phone.GetByTestId("connection-state")).ToHaveTextAsync("Live", Soon);
        // By last update: other tests' keys may have higher counts than this one.
        await phone.GetByRole(AriaRole.Radio, new() { Name = "Last update" }).ClickAsync();
        await phone.Locator($"tr[data-key='{key}']").GetByRole(AriaRole.Button, new() { Name = key }).ClickAsync();
        await Expect(phone.GetByTestId("summary-1m")).ToContainTextAsync("count", new() { Timeout = 30_000 });
        await phone.ScreenshotAsync(new() { Path = ScreenshotPath($"{name}-390"), FullPage = true });
        await phone.CloseAsync();
    }

    private string ScreenshotPath(string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        output.WriteLine($"Screenshot: {path}");
        return path;
    }
}
