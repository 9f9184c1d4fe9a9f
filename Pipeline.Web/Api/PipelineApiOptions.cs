using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Web.Api;

/// <summary>How the web app reaches the API (configuration section <c>PipelineApi</c>).</summary>
public sealed class PipelineApiOptions
{
    public const string SectionName = "PipelineApi";

    /// <summary>The API's address; by default the AppHost's <c>api</c> resource through service discovery.</summary>
    [Required(ErrorMessage = "PipelineApi:BaseAddress is required.")]
    public Uri BaseAddress { get; set; } = new("https+http://api");

    /// <summary>The API key this server sends in <c>X-Api-Key</c>; never sent to the browser.</summary>
    [Required(ErrorMessage = "PipelineApi:Key is required: run the web app from Pipeline.AppHost (it passes the 'api-key' parameter) or set PipelineApi__Key.")]
    public string Key { get; set; } = "";

    /// <summary>How often the pipeline's status is read.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00.200", "00:01:00", ErrorMessage = "PipelineApi:StatusInterval must be between 200 ms and 1 minute.")]
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the change stream may stay silent (the API sends a heartbeat every 15 s) before it is opened again.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:05", "00:10:00", ErrorMessage = "PipelineApi:StreamSilenceLimit must be between 5 seconds and 10 minutes.")]
    public TimeSpan StreamSilenceLimit { get; set; } = TimeSpan.FromSeconds(40);
}

[OptionsValidator]
internal sealed partial class PipelineApiOptionsValidator : IValidateOptions<PipelineApiOptions>;
