using Pipeline.AppHost.Containers;

namespace Pipeline.Tests.AppHost;

public sealed class ContainerImagesTests
{
    [Theory]
    [InlineData("docker.io/confluentinc/confluent-local:8.1.1", "docker.io", "confluentinc/confluent-local", "8.1.1")]
    [InlineData("localhost/pipeline-test/postgres:15", "localhost", "pipeline-test/postgres", "15")]
    [InlineData("registry.example:5000/team/kafka", "registry.example:5000", "team/kafka", "latest")]
    [InlineData("kafbat/kafka-ui:v1.4.2", "docker.io", "kafbat/kafka-ui", "v1.4.2")]
    [InlineData("postgres:18.3", "docker.io", "library/postgres", "18.3")]
    public void AReferenceIsReadAsDockerReadsIt(string reference, string registry, string repository, string tag)
    {
        Assert.Equal(new ContainerImage(registry, repository, tag), ContainerImage.Parse(reference));
    }

    [Fact]
    public async Task EveryImageCanBeReplacedBySettings()
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
        [
            "--Pipeline:Infrastructure=containers",
            $"--AppHostSha={Podman.ModelTestAppHostSha}",
            "--Pipeline:Containers:KafkaImage=localhost/pipeline-test/kafka-stand-in:1",
            "--Pipeline:Containers:KafkaUiImage=localhost/pipeline-test/kafka-ui-stand-in:2",
            "--Pipeline:Containers:PostgresImage=localhost/pipeline-test/postgres:15",
        ]);
        await using var app = await appHost.BuildAsync();
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        string ImageOf(string name)
        {
            var image = model.Resources.Single(r => r.Name == name).Annotations.OfType<ContainerImageAnnotation>().Last();
            return $"{image.Registry}/{image.Image}:{image.Tag}";
        }

        Assert.Equal("localhost/pipeline-test/kafka-stand-in:1", ImageOf("kafka"));
        Assert.Equal("localhost/pipeline-test/kafka-ui-stand-in:2", ImageOf("kafka-ui"));
        Assert.Equal("localhost/pipeline-test/postgres:15", ImageOf("postgres"));
        await app.DisposeAsync();
        Podman.RemoveModelTestVolumes();
    }
}
