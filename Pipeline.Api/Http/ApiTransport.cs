using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.HttpsPolicy;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Api.Http;

/// <summary>
/// What the API does about the connection it is reached over (section <c>Api:Transport</c>). The
/// API speaks plain HTTP; in production a proxy in front of it terminates TLS. Naming that proxy
/// in <see cref="KnownProxies"/> or <see cref="KnownNetworks"/> makes the API take the client's
/// address and scheme from its <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> (so the rate
/// limit without a key counts clients, not the proxy, and HSTS is sent); from anyone else those
/// headers are ignored.
/// </summary>
public sealed class ApiTransportOptions
{
    public const string SectionName = "Api:Transport";

    /// <summary>Addresses of the proxies whose forwarded headers are believed, e.g. <c>10.0.0.5</c>.</summary>
    [IpAddresses(ErrorMessage = "Api:Transport:KnownProxies must hold IP addresses.")]
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of such proxies, in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    [IpNetworks(ErrorMessage = "Api:Transport:KnownNetworks must hold networks in CIDR notation (10.0.0.0/8).")]
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>
    /// How long a browser keeps to HTTPS after an HTTPS answer (<c>Strict-Transport-Security</c>),
    /// sent outside Development on requests that came over HTTPS; zero sends none.
    /// </summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "Api:Transport:HstsMaxAge must not be negative.")]
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    internal bool TrustsAProxy => KnownProxies.Length > 0 || KnownNetworks.Length > 0;
}

[OptionsValidator]
internal sealed partial class ApiTransportOptionsValidator : IValidateOptions<ApiTransportOptions>;

/// <summary>Forwarded headers, HSTS and the response headers every answer carries.</summary>
public static class ApiTransport
{
    internal static IHostApplicationBuilder AddApiTransport(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiTransportOptions, ApiTransportOptionsValidator>(ApiTransportOptions.SectionName);
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ApiTransportOptions>>((forwarded, transport) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.ForwardLimit = 1;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in transport.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in transport.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        builder.Services.AddOptions<HstsOptions>().Configure<IOptions<ApiTransportOptions>>((hsts, transport) => hsts.MaxAge = transport.Value.HstsMaxAge);

        // The server does not name itself.
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }

    /// <summary>First in the pipeline: forwarded headers from a known proxy, HSTS, and the headers every answer carries.</summary>
    internal static WebApplication UseApiTransport(this WebApplication app)
    {
        var transport = app.Services.GetRequiredService<IOptions<ApiTransportOptions>>().Value;
        if (transport.TrustsAProxy)
        {
            app.UseForwardedHeaders();
        }

        if (!app.Environment.IsDevelopment() && transport.HstsMaxAge > TimeSpan.Zero)
        {
            app.UseHsts();
        }

        app.Use(AddResponseHeaders);
        return app;
    }

    // Set as the answer starts, so that they survive the exception handler clearing the headers.
    private static Task AddResponseHeaders(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(static state =>
        {
            var response = ((HttpContext)state).Response;
            response.Headers.XContentTypeOptions = "nosniff";
            // Keyed data is never stored by a browser or a shared cache.
            if (response.HttpContext.Request.Path.StartsWithSegments("/api"))
            {
                response.Headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
