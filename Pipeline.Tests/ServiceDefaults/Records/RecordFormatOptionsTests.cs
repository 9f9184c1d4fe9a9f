using Microsoft.Extensions.Hosting;

namespace Pipeline.Tests.ServiceDefaults.Records;

/// <summary><c>Kafka:RecordFormat</c> is validated at start-up, naming the keys to set.</summary>
public sealed class RecordFormatOptionsTests
{
    [Fact]
    public void AvroWithoutARegistryIsRefusedNamingBothKeys()
    {
        var result = new RecordFormatOptionsValidator().Validate(null, new RecordFormatOptions { RecordFormat = RecordFormat.Avro });

        Assert.True(result.Failed);
        Assert.Contains("Kafka:RecordFormat", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:schema-registry", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void AFormatThatIsNeitherJsonNorAvroIsRefused()
    {
        var result = new RecordFormatOptionsValidator().Validate(null, new RecordFormatOptions { RecordFormat = (RecordFormat)7 });

        Assert.True(result.Failed);
        Assert.Contains("Kafka:RecordFormat must be Json or Avro", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RecordFormat.Json, null)]
    [InlineData(RecordFormat.Avro, "http://127.0.0.1:8081")]
    public void JsonNeedsNothingAndAvroNeedsTheRegistrysUrl(RecordFormat format, string? url)
    {
        Assert.True(new RecordFormatOptionsValidator().Validate(null, new RecordFormatOptions { RecordFormat = format, SchemaRegistryUrl = url }).Succeeded);
    }
}
