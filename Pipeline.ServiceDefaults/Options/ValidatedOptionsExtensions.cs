using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Pipeline.ServiceDefaults.Options;

/// <summary>
/// The one way every service registers its settings: bound from a configuration section and
/// validated when the service starts, by a validator that the <c>[OptionsValidator]</c> source
/// generator writes from the options' data annotations (each message names the configuration
/// key). Rules across fields or across option types are hand-written validators added with
/// <see cref="ValidateWith{TOptions, TValidator}"/>.
/// </summary>
public static class ValidatedOptionsExtensions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="sectionName"/> and validates it at start-up with <typeparamref name="TValidator"/>.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string sectionName)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>().BindConfiguration(sectionName).ValidateOnStart();
    }

    /// <summary>Adds a hand-written validator, for a rule that spans fields or option types.</summary>
    public static OptionsBuilder<TOptions> ValidateWith<TOptions, TValidator>(this OptionsBuilder<TOptions> options)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        options.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return options;
    }
}
