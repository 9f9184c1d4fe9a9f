using Pipeline.AppHost.Infrastructure;

namespace Pipeline.Tests.AppHost;

public sealed class InfrastructureChoiceTests
{
    [Fact]
    public void AutoChoosesContainersWhenARuntimeAnswers()
    {
        var choice = InfrastructureChoice.Resolve(null, () => "docker");

        Assert.Equal(InfrastructureMode.Containers, choice.Mode);
        Assert.Contains("docker", choice.Reason);
    }

    [Fact]
    public void AutoChoosesLocalWhenTheRuntimeLacksAnImageRatherThanPullOnFirstRun()
    {
        var choice = InfrastructureChoice.Resolve(null, () => "podman", _ => ["docker.io/confluentinc/confluent-local:8.1.1"]);

        Assert.Equal(InfrastructureMode.Local, choice.Mode);
        Assert.Contains("does not hold docker.io/confluentinc/confluent-local:8.1.1", choice.Reason);
        Assert.Contains("Pipeline:Infrastructure=containers", choice.Reason);
    }

    [Fact]
    public void AutoChoosesContainersWhenTheRuntimeHoldsEveryImage()
    {
        var asked = new List<string>();
        var choice = InfrastructureChoice.Resolve(null, () => "podman", runtime =>
        {
            asked.Add(runtime);
            return [];
        });

        Assert.Equal(InfrastructureMode.Containers, choice.Mode);
        Assert.Equal(["podman"], asked);
    }

    [Fact]
    public void AutoChoosesLocalWhenNoRuntimeAnswers()
    {
        var choice = InfrastructureChoice.Resolve("auto", () => null);

        Assert.Equal(InfrastructureMode.Local, choice.Mode);
        Assert.Contains("no container runtime answered", choice.Reason);
    }

    [Theory]
    [InlineData("local", InfrastructureMode.Local)]
    [InlineData("Containers", InfrastructureMode.Containers)]
    [InlineData("external", InfrastructureMode.External)]
    public void AnExplicitModeIsTakenWithoutProbing(string setting, InfrastructureMode expected)
    {
        var choice = InfrastructureChoice.Resolve(setting, () => throw new InvalidOperationException("must not probe"));

        Assert.Equal(expected, choice.Mode);
    }

    [Theory]
    [InlineData("kubernetes")]
    [InlineData("7")]
    public void AnUnknownModeIsRefusedWithTheChoices(string setting)
    {
        var failure = Assert.Throws<InvalidOperationException>(() => InfrastructureChoice.Resolve(setting, () => null));

        Assert.Contains("auto, containers, local, external", failure.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("auto")]
    public void PublishingAutoMeansExternalWhateverThePublishingMachineRuns(string? setting)
    {
        var choice = InfrastructureChoice.Resolve(setting, () => throw new InvalidOperationException("must not probe"), isPublishMode: true);

        Assert.Equal(InfrastructureMode.External, choice.Mode);
    }

    [Fact]
    public void TheLocalModeRefusesToBePublished()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => InfrastructureChoice.Resolve("local", () => null, isPublishMode: true));

        Assert.Contains("cannot be published", failure.Message);
    }

    [PodmanFact]
    public void PodmanIsFoundByTheProbeWhereItRunsContainers()
    {
        Assert.Equal("podman", InfrastructureChoice.ProbeContainerRuntime("podman"));
        Assert.Null(InfrastructureChoice.ProbeContainerRuntime("no-such-container-runtime"));
    }

    [PodmanFact]
    public void OnlyTheImagesTheRuntimeDoesNotHoldAreReportedMissing()
    {
        Assert.True(Podman.ImageExists(Podman.PostgresImage), $"podman has no image {Podman.PostgresImage}: run .ci/test-images to build it.");

        var missing = InfrastructureChoice.ImagesNotPresent("podman", [Podman.PostgresImage, "localhost/pipeline-test/never-built:0"]);

        Assert.Equal(["localhost/pipeline-test/never-built:0"], missing);
    }
}
