using System.Reflection;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

public sealed class UnexpectedFailureTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Theory]
    [InlineData("Development")]
    [InlineData("Production")]
    public async Task UnexpectedFailureIsA500ProblemWithATraceIdAndNoStackTraceAndIsLogged(string environment)
    {
        // The one place a fake stands in: a producer that breaks in a way no broker would.
        await using var api = new IngestApiFactory(topic.BootstrapServers,
            services: services => services.AddSingleton(new RenewingKafkaProducer<string, byte[]>(_ => BrokenProducer.Create(), NullLogger.Instance)), environment: environment);
        using var client = api.CreateApiClient();

        var response = await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));

        var problem = await response.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal-error");
        var text = problem.ToString();
        Assert.DoesNotContain(BrokenProducer.Secret, text);
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Pipeline.Api", text);
        // The request's failure, not the background health checks that meet the same producer.
        var logged = Assert.Single(api.Logs.Entries, entry => entry.Level == LogLevel.Error && entry.Exception is not null
            && !entry.Category.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal));
        Assert.Contains(BrokenProducer.Secret, logged.Exception!.ToString());
    }

    [Fact]
    public async Task UnknownEndpointIsA404Problem()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();

        var response = await client.GetAsync("/api/nothing-here");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task WrongMethodIsA405Problem()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();

        var response = await client.GetAsync(ApiRequests.Events);

        await response.AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    /// <summary>An IProducer whose every call throws an exception no handler expects.</summary>
    public class BrokenProducer : DispatchProxy
    {
        public const string Secret = "internal detail 93f1";

        public static IProducer<string, byte[]> Create() => Create<IProducer<string, byte[]>, BrokenProducer>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name switch
            {
                "get_Name" => "broken",
                "Dispose" => null,
                _ => throw new InvalidOperationException(Secret),
            };
    }
}
