using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Veracity.Tests;

/// <summary>
/// The web page in a real browser: Debian's Chromium (<c>apt-get install chromium</c>) driven by Playwright, against
/// the server on a loopback port. Playwright's own browser download is not used.
/// </summary>
[Trait("Category", "Browser")]
[Collection(ServedModelCollection.Name)]
public class BrowserTests(ServedModel served)
{
    const string Chromium = "/usr/bin/chromium";

    /// <summary>Where the screenshot goes: the test output folder, and the README's copy is taken from there.</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "screenshots", "serve-page.png");

    [Fact]
    public async Task The_page_scores_an_uploaded_photo_boxes_its_face_and_lays_its_heatmap_over_it()
    {
        Assert.True(File.Exists(Chromium), $"the browser test needs Debian's Chromium at {Chromium}: apt-get install chromium");
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { Faces = true }, loopback: true);
        string image = Fixtures.Path("astronaut.jpg"), name = Path.GetFileName(image);
        var expected = JsonDocument.Parse(await (await server.Client.PostAsync("/api/v1/score", Served.Form(image))).Content.ReadAsStringAsync())
            .RootElement.GetProperty("results")[0].GetProperty("fake_probability").GetDouble();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 720 } });
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add($"{message.Text} ({message.Location})"); };
        await page.GotoAsync(server.Client.BaseAddress!.ToString());
        await Assertions.Expect(page.Locator("#model-card")).ToContainTextAsync("resnet18");

        await page.Locator("#file-input").SetInputFilesAsync(image);
        var card = page.Locator($".result[data-name=\"{name}\"]");
        await Assertions.Expect(card).ToHaveAttributeAsync("data-state", "scored", new() { Timeout = 60_000 });
        double shown = double.Parse(await card.Locator(".probability").InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.Equal(expected, shown, 3e-3);
        Assert.Matches("deepfake|real", (await card.Locator(".verdict").InnerTextAsync()).ToLowerInvariant());
        await Assertions.Expect(card.Locator("svg.faces rect")).ToHaveCountAsync(1);
        await Assertions.Expect(card.Locator(".face-list")).ToContainTextAsync("1 face scored");

        await Assertions.Expect(card).ToHaveAttributeAsync("data-heatmap", "ready", new() { Timeout = 60_000 });
        await card.Locator(".heatmap-toggle").ClickAsync();
        var heatmap = card.Locator("img.heatmap");
        await Assertions.Expect(heatmap).ToBeVisibleAsync();
        Assert.True(await heatmap.EvaluateAsync<int>("img => img.naturalWidth") > 0, "the heatmap image decoded");
        Assert.Equal("true", await card.Locator(".heatmap-toggle").GetAttributeAsync("aria-pressed"));

        // A bad file shows its problem inline, in its own card.
        string bad = Path.Combine(served.Data.Root, "not-an-image.jpg");
        await File.WriteAllTextAsync(bad, "plain text");
        await page.Locator("#file-input").SetInputFilesAsync(bad);
        var badCard = page.Locator(".result[data-name=\"not-an-image.jpg\"]");
        await Assertions.Expect(badCard).ToHaveAttributeAsync("data-state", "error", new() { Timeout = 60_000 });
        await Assertions.Expect(badCard.Locator(".error")).ToContainTextAsync("Not an image");

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
        var unexpected = consoleErrors.Where(e => !e.Contains("status of 415")).ToList(); // the browser logs the refused upload itself
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
    }
}
