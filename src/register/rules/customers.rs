//! Customers: OTRS's customer company fields, assigned numbers, search.

use std::sync::LazyLock;

use regex::Regex;
use validator::ValidateUrl;

use super::{inserted, requested_validity};
use crate::register::ports::{Insert, RegisterRepository};
use crate::register::{
    Customer, CustomerFields, CustomerPage, CustomerQuery, CustomerSearch, CustomerSortField,
    Entity, NewCustomer, NumberMatch, RegisterError, SortDirection, TextMatch, search_key,
};
use crate::vocabulary::{CanonicalReference, FieldErrors};

/// Field limits, in characters (OTRS's column sizes).
pub const NAME_MAX_CHARS: usize = 200;
pub const STREET_MAX_CHARS: usize = 200;
pub const ZIP_MAX_CHARS: usize = 20;
pub const CITY_MAX_CHARS: usize = 200;
pub const URL_MAX_CHARS: usize = 200;
pub const COMMENT_MAX_CHARS: usize = 250;
pub const PATTERN_MAX_CHARS: usize = 200;

/// Paging of SearchCustomers (OTRS's list limit).
pub const DEFAULT_PAGE_SIZE: i64 = 250;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Checks and normalises a customer's fields: trimmed, blank optional values
/// dropped, the country upper-cased. Shared by the service and the importer.
pub fn check_customer_fields(raw: &CustomerFields, errors: &mut FieldErrors) -> CustomerFields {
    let name = errors
        .required("Name", &raw.name, NAME_MAX_CHARS)
        .unwrap_or_default();
    let street = errors.optional("Street", raw.street.as_deref(), STREET_MAX_CHARS);
    let zip = errors.optional("Zip", raw.zip.as_deref(), ZIP_MAX_CHARS);
    let city = errors.optional("City", raw.city.as_deref(), CITY_MAX_CHARS);
    let country = raw
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase);
    if let Some(country) = &country
        && isocountry::CountryCode::for_alpha2(country).is_err()
    {
        errors.add(
            "Country",
            format!("'{country}' is not an ISO 3166-1 alpha-2 country code (such as NO or SE)."),
        );
    }
    let url = errors.optional("Url", raw.url.as_deref(), URL_MAX_CHARS);
    if let Some(url) = &url {
        let scheme_ok = url.split_once("://").is_some_and(|(scheme, _)| {
            matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
        });
        if !scheme_ok || !url.validate_url() {
            errors.add(
                "Url",
                format!("'{url}' is not an absolute http or https URL."),
            );
        }
    }
    let comment = errors.optional_lines("Comment", raw.comment.as_deref(), COMMENT_MAX_CHARS);
    CustomerFields {
        name,
        street,
        zip,
        city,
        country,
        url,
        comment,
    }
}

pub fn create_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    request: NewCustomer,
) -> Result<Customer, RegisterError> {
    let mut errors = FieldErrors::default();
    if let Some(number) = request.customer_number {
        errors.positive("CustomerNumber", number);
    }
    let fields = check_customer_fields(&request.fields, &mut errors);
    let validity = errors.validity_or_valid(request.validity.as_deref());
    let validity = errors.finish(|| validity.expect("checked"))?;
    match store.insert_customer(request.customer_number, &fields, validity)? {
        Insert::NoKeyLeft => Err(RegisterError::invalid(
            "CustomerNumber",
            format!(
                "The highest customer number is {}, so none can be assigned; give a CustomerNumber.",
                i32::MAX
            ),
        )),
        insert => inserted(insert, Entity::Customer),
    }
}

pub fn update_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
    fields: CustomerFields,
) -> Result<Customer, RegisterError> {
    let mut errors = FieldErrors::default();
    let fields = check_customer_fields(&fields, &mut errors);
    errors.finish(|| ())?;
    store
        .update_customer(customer_number, &fields)?
        .ok_or_else(|| RegisterError::not_found(Entity::Customer, customer_number))
}

pub fn get_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<Customer, RegisterError> {
    store
        .customer_details(customer_number)?
        .ok_or_else(|| RegisterError::not_found(Entity::Customer, customer_number))
}

pub fn set_customer_validity<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
    validity: &str,
) -> Result<Customer, RegisterError> {
    let validity = requested_validity(validity)?;
    store
        .set_customer_validity(customer_number, validity)?
        .ok_or_else(|| RegisterError::not_found(Entity::Customer, customer_number))
}

static NUMBER_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9*]+$").expect("valid pattern"));

/// A search pattern: `*` matches any run of characters; nothing else is
/// special. A pattern of only `*` matches everything, so it filters nothing.
fn text_match(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: Option<&str>,
) -> Option<TextMatch> {
    let pattern = errors.optional(field, raw, PATTERN_MAX_CHARS)?;
    if pattern.chars().all(|c| c == '*') {
        return None;
    }
    let folded = search_key(&pattern);
    if !folded.contains('*') {
        return Some(TextMatch::Exact(folded));
    }
    Some(TextMatch::Like(like_pattern(&folded)))
}

/// `*` becomes `%`; the LIKE metacharacters and the escape character itself
/// are escaped with `\`.
fn like_pattern(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' if like.ends_with('%') && !like.ends_with("\\%") => {}
            '*' => like.push('%'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    like
}

fn number_match(errors: &mut FieldErrors, raw: Option<&str>) -> Option<NumberMatch> {
    let pattern = errors.optional("CustomerNumber", raw, PATTERN_MAX_CHARS)?;
    if !NUMBER_PATTERN.is_match(&pattern) {
        errors.add(
            "CustomerNumber",
            format!("'{pattern}' is not a customer number pattern: use digits and '*'."),
        );
        return None;
    }
    if pattern.chars().all(|c| c == '*') {
        return None;
    }
    if pattern.contains('*') {
        return Some(NumberMatch::Like(like_pattern(&pattern)));
    }
    match CanonicalReference::customer_number(&pattern) {
        Some(CanonicalReference::CustomerNumber(n)) => Some(NumberMatch::Exact(n)),
        _ => {
            errors.add(
                "CustomerNumber",
                format!("'{pattern}' is larger than any customer number."),
            );
            None
        }
    }
}

pub fn search_customers<S: RegisterRepository + ?Sized>(
    store: &mut S,
    search: CustomerSearch,
) -> Result<CustomerPage, RegisterError> {
    let mut errors = FieldErrors::default();
    let customer_number = number_match(&mut errors, search.customer_number.as_deref());
    let name = text_match(&mut errors, "Name", search.name.as_deref());
    let city = text_match(&mut errors, "City", search.city.as_deref());
    let zip = text_match(&mut errors, "Zip", search.zip.as_deref());
    let validity = search
        .validity
        .as_deref()
        .and_then(|raw| errors.validity(raw));
    let sort_by = search
        .sort_by
        .as_deref()
        .map_or(Some(CustomerSortField::CustomerNumber), |raw| {
            errors.enumeration("SortBy", raw)
        });
    let direction = search
        .direction
        .as_deref()
        .map_or(Some(SortDirection::Ascending), |raw| {
            errors.enumeration("SortDirection", raw)
        });
    let offset = search.offset.unwrap_or(0);
    if offset < 0 {
        errors.add(
            "Offset",
            format!("Offset must not be negative; it is {offset}."),
        );
    }
    let limit = search.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        errors.add(
            "Limit",
            format!("Limit must be between 1 and {MAX_PAGE_SIZE}; it is {limit}."),
        );
    }
    let query = errors.finish(|| CustomerQuery {
        customer_number,
        name,
        city,
        zip,
        validity,
        sort_by: sort_by.expect("checked"),
        direction: direction.expect("checked"),
        offset,
        limit,
    })?;
    Ok(store.search_customers(&query)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_escaped_like_patterns() {
        assert_eq!(like_pattern("nord*"), "nord%");
        assert_eq!(like_pattern("*vik*"), "%vik%");
        assert_eq!(like_pattern("a**b"), "a%b");
        assert_eq!(like_pattern("50%_off\\*"), "50\\%\\_off\\\\%");
    }

    #[test]
    fn patterns_are_folded_and_a_lone_star_filters_nothing() {
        let mut errors = FieldErrors::default();
        assert_eq!(
            text_match(&mut errors, "Name", Some(" ÅSE* ")),
            Some(TextMatch::Like("åse%".into()))
        );
        assert_eq!(
            text_match(&mut errors, "Name", Some("Oslo")),
            Some(TextMatch::Exact("oslo".into()))
        );
        assert_eq!(text_match(&mut errors, "Name", Some("**")), None);
        assert_eq!(text_match(&mut errors, "Name", Some("  ")), None);
        assert!(errors.is_empty());
        assert_eq!(
            number_match(&mut errors, Some("10*")),
            Some(NumberMatch::Like("10%".into()))
        );
        assert_eq!(
            number_match(&mut errors, Some("01001")),
            Some(NumberMatch::Exact(1001))
        );
        assert_eq!(number_match(&mut errors, Some("1a")), None);
        assert_eq!(errors.into_vec().len(), 1);
    }

    #[test]
    fn customer_fields_are_checked_and_normalised() {
        let mut errors = FieldErrors::default();
        let fields = check_customer_fields(
            &CustomerFields {
                name: " Nordvik AS ".into(),
                street: Some("".into()),
                country: Some("no".into()),
                url: Some("https://nordvik.example".into()),
                ..Default::default()
            },
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(fields.name, "Nordvik AS");
        assert_eq!(fields.street, None);
        assert_eq!(fields.country.as_deref(), Some("NO"));

        let mut errors = FieldErrors::default();
        check_customer_fields(
            &CustomerFields {
                name: " ".into(),
                country: Some("XX".into()),
                url: Some("javascript:alert(1)".into()),
                zip: Some("1".repeat(21)),
                ..Default::default()
            },
            &mut errors,
        );
        let fields: Vec<_> = errors.into_vec().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["Name", "Zip", "Country", "Url"]);
    }
}
