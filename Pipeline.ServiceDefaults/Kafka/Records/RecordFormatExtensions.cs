using System.ComponentModel.DataAnnotations;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.ServiceDefaults.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>The record format of the pipeline's topics (<c>Kafka:RecordFormat</c>) and, for Avro, its Schema Registry.</summary>
public sealed class RecordFormatOptions : IValidatableObject
{
    /// <summary>The section the format is read from.</summary>
    public const string SectionName = "Kafka";

    /// <summary><c>Kafka:RecordFormat</c>: <c>Json</c> (when unset) or <c>Avro</c>. The AppHost sets it on every service from <c>Pipeline:RecordFormat</c>.</summary>
    [EnumDataType(typeof(RecordFormat), ErrorMessage = "Kafka:RecordFormat must be Json or Avro.")]
    public RecordFormat RecordFormat { get; set; } = RecordFormat.Json;

    /// <summary>The registry's URL(s), from <c>ConnectionStrings:schema-registry</c>.</summary>
    public string? SchemaRegistryUrl { get; set; }

    /// <summary>Validates the one rule across sections: Avro needs a registry.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RecordFormat == RecordFormat.Avro && string.IsNullOrWhiteSpace(SchemaRegistryUrl))
        {
            yield return new ValidationResult(
                $"{RecordFormatSettings.SettingKey} is Avro, which needs a Schema Registry: set ConnectionStrings:{ConnectionNames.SchemaRegistry} to its URL.",
                [nameof(SchemaRegistryUrl)]);
        }
    }
}

/// <summary>Validates <see cref="RecordFormatOptions"/> at start-up.</summary>
[OptionsValidator]
public sealed partial class RecordFormatOptionsValidator : IValidateOptions<RecordFormatOptions>;

/// <summary>Registers the pipeline's record format.</summary>
public static class RecordFormatExtensions
{
    /// <summary>
    /// Registers <see cref="PipelineRecordFormat"/> as <c>Kafka:RecordFormat</c> says: JSON, or Avro
    /// through a Schema Registry at <c>ConnectionStrings:schema-registry</c> (basic auth from
    /// <c>Kafka:SchemaRegistry:BasicAuthUserInfo</c> when set). Validated at start-up.
    /// </summary>
    public static IHostApplicationBuilder AddPipelineRecordFormat(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RecordFormatOptions, RecordFormatOptionsValidator>(RecordFormatOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.SchemaRegistryUrl = configuration.GetConnectionString(ConnectionNames.SchemaRegistry));
        builder.Services.TryAddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<RecordFormatOptions>>().Value;
            return options.RecordFormat == RecordFormat.Avro
                ? new AvroRecordFormat(CreateRegistryClient(options.SchemaRegistryUrl!, services.GetRequiredService<IConfiguration>()[RecordFormatSettings.BasicAuthUserInfoKey]))
                : PipelineRecordFormat.Json;
        });
        return builder;
    }

    /// <summary>A Schema Registry client for <paramref name="url"/>, with basic auth when <paramref name="basicAuthUserInfo"/> is given.</summary>
    public static CachedSchemaRegistryClient CreateRegistryClient(string url, string? basicAuthUserInfo = null)
    {
        var config = new SchemaRegistryConfig { Url = url };
        if (!string.IsNullOrEmpty(basicAuthUserInfo))
        {
            config.BasicAuthCredentialsSource = AuthCredentialsSource.UserInfo;
            config.BasicAuthUserInfo = basicAuthUserInfo;
        }

        return new CachedSchemaRegistryClient(config);
    }
}
