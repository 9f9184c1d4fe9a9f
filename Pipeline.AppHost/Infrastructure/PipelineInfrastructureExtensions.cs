using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.AppHost.Containers;
using Pipeline.AppHost.External;
using Pipeline.AppHost.Local;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>Adds Kafka and PostgreSQL the way <c>Pipeline:Infrastructure</c> says.</summary>
public static partial class PipelineInfrastructureExtensions
{
    /// <summary>
    /// Resolves the infrastructure mode and the record format (logging both when the app starts)
    /// and adds <c>kafka</c>, <c>postgres</c> and <c>pipelinedb</c>, <c>schema-registry</c> with the
    /// Avro format (plus <c>kafka-ui</c> with containers).
    /// </summary>
    public static PipelineInfrastructure AddPipelineInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var format = builder.Configuration.GetValue(PipelineInfrastructure.RecordFormatKey, RecordFormat.Avro);
        var choice = InfrastructureChoice.Resolve(builder.Configuration[InfrastructureChoice.SettingKey], InfrastructureChoice.ProbeContainerRuntime,
            runtime => InfrastructureChoice.ImagesNotPresent(runtime, ContainerImages.From(builder.Configuration).For(format).Select(image => image.ToString())),
            builder.ExecutionContext.IsPublishMode);
        var partitions = builder.Configuration.GetValue(PipelineInfrastructure.PartitionsKey, PipelineInfrastructure.DefaultPartitions);
        if (partitions < 1)
        {
            throw new InvalidOperationException($"{PipelineInfrastructure.PartitionsKey} must be at least 1; it is {partitions}.");
        }

        var applicationId = StreamProcessorTopology.DefaultApplicationId;

        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            LogMode(@event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.AppHost"), choice.Mode, choice.Reason, format);
            return Task.CompletedTask;
        });

        return choice.Mode switch
        {
            InfrastructureMode.Containers => ContainerInfrastructure.Add(builder, choice, partitions, applicationId, format),
            InfrastructureMode.External => ExternalInfrastructure.Add(builder, choice, partitions, applicationId, format),
            _ => LocalInfrastructure.Add(builder, choice, partitions, applicationId, format),
        };
    }

    /// <summary>A resource as the connection string the services are given, whatever its type.</summary>
    internal static IResourceBuilder<IResourceWithConnectionString> AsConnectionString<T>(this IDistributedApplicationBuilder builder, IResourceBuilder<T> resource)
        where T : IResourceWithConnectionString =>
        builder.CreateResourceBuilder<IResourceWithConnectionString>(resource.Resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Infrastructure mode: {Mode} ({Reason}). Record format: {RecordFormat}.")]
    private static partial void LogMode(ILogger logger, InfrastructureMode mode, string reason, RecordFormat recordFormat);
}
