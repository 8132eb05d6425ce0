//! The rules of the register service. Each operation first checks the
//! request's own fields and reports every broken rule at once
//! (`EntityValidationFault`); then the records it names must exist
//! (`…NotFoundFault`) and be usable; the repository decides uniqueness and
//! whether something is still in use.

use std::sync::LazyLock;

use chrono::{NaiveDate, Utc};
use regex::Regex;
use validator::ValidateUrl;

use super::model::parse_enum;
use super::ports::{Guarded, Insert, RegisterRepository};
use super::{
    Customer, CustomerFields, CustomerPage, CustomerQuery, CustomerSearch, CustomerSortField,
    Entity, NewCustomer, NewSubscription, NumberMatch, RegisterError, RelationTypeDraft,
    SortDirection, Subscription, TextMatch, Title, User, search_key,
};
use crate::relations::{
    CanonicalReference, CustomerDirectory, FieldError, InternalError, ReferenceType, RegisterCode,
    RelationError, RelationType, TitleMode, Validity,
};

/// Field limits, in characters (OTRS's column sizes).
pub const NAME_MAX_CHARS: usize = 200;
pub const STREET_MAX_CHARS: usize = 200;
pub const ZIP_MAX_CHARS: usize = 20;
pub const CITY_MAX_CHARS: usize = 200;
pub const URL_MAX_CHARS: usize = 200;
pub const COMMENT_MAX_CHARS: usize = 250;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const PATTERN_MAX_CHARS: usize = 200;

/// Paging of SearchCustomers (OTRS's list limit).
pub const DEFAULT_PAGE_SIZE: i64 = 250;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Collects the broken rules of one request.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// A value that must be given and not blank; `None` when it is not.
    fn required(&mut self, field: &'static str, value: &str, max: usize) -> Option<String> {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, format!("{field} is required."));
            return None;
        }
        self.limit(field, value, max);
        Some(value.to_owned())
    }

    /// An optional value, trimmed; blank counts as absent.
    fn optional(&mut self, field: &'static str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.limit(field, value, max);
        Some(value.to_owned())
    }

    fn limit(&mut self, field: &'static str, value: &str, max: usize) {
        let chars = value.chars().count();
        if chars > max {
            self.add(
                field,
                format!("{field} must be at most {max} characters; it has {chars}."),
            );
        }
    }

    fn code(&mut self, field: &'static str, raw: &str) -> Option<String> {
        match RegisterCode::parse(raw.trim()) {
            Ok(code) => Some(code.into_inner()),
            Err(e) => {
                self.add(field, format!("{field} {e}."));
                None
            }
        }
    }

    fn enumeration<T: std::str::FromStr<Err = String>>(
        &mut self,
        field: &'static str,
        raw: &str,
    ) -> Option<T> {
        parse_enum(raw).map_err(|e| self.add(field, e)).ok()
    }

    /// A Validity that must be given.
    fn validity(&mut self, raw: &str) -> Option<Validity> {
        self.enumeration("Validity", raw)
    }

    /// An optional Validity: `Valid` when absent.
    fn validity_or_valid(&mut self, raw: Option<&str>) -> Option<Validity> {
        raw.map_or(Some(Validity::Valid), |raw| self.validity(raw))
    }

    fn email(&mut self, field: &'static str, raw: &str) -> Option<String> {
        if raw.trim().chars().count() > EMAIL_MAX_CHARS {
            self.limit(field, raw.trim(), EMAIL_MAX_CHARS);
            return None;
        }
        match CanonicalReference::email(raw) {
            Some(email) => Some(email.as_stored()),
            None => {
                self.add(field, format!("'{}' is not an e-mail address.", raw.trim()));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when no rule was broken.
    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, RegisterError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(RegisterError::EntityValidation(self.0))
        }
    }
}

fn positive_number(errors: &mut FieldErrors, field: &'static str, number: i32) {
    if number <= 0 {
        errors.add(
            field,
            format!("{field} must be a positive number, not {number}."),
        );
    }
}

/// The record an insert made, or the fault for the one already there.
/// `NoKeyLeft` is only possible where the store assigns the key (customer
/// numbers, which `create_customer` handles first), so here a store broke
/// its contract.
fn inserted<T>(insert: Insert<T>, entity: Entity) -> Result<T, RegisterError> {
    match insert {
        Insert::New(record) => Ok(record),
        Insert::Duplicate(key) => Err(RegisterError::already_exists(entity, key)),
        Insert::NoKeyLeft => Err(InternalError::new(format!(
            "the store reported no {} key left where it assigns none",
            entity.name()
        ))
        .into()),
    }
}

/// The Validity of a `Set…Validity` request, or its field fault.
fn requested_validity(raw: &str) -> Result<Validity, RegisterError> {
    let mut errors = FieldErrors::default();
    let validity = errors.validity(raw);
    errors.finish(|| validity.expect("checked"))
}

// ---------------------------------------------------------------- customers

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
    let comment = errors.optional("Comment", raw.comment.as_deref(), COMMENT_MAX_CHARS);
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
        positive_number(&mut errors, "CustomerNumber", number);
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

// ------------------------------------------------------------------ titles

pub fn create_title<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    name: &str,
    validity: Option<&str>,
) -> Result<Title, RegisterError> {
    let mut errors = FieldErrors::default();
    let code = errors.code("Code", code);
    let name = errors.required("Name", name, NAME_MAX_CHARS);
    let validity = errors.validity_or_valid(validity);
    let title = errors.finish(|| Title {
        code: code.expect("checked"),
        name: name.expect("checked"),
        validity: validity.expect("checked"),
    })?;
    inserted(store.insert_title(&title)?, Entity::Title)
}

pub fn update_title<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    name: &str,
) -> Result<Title, RegisterError> {
    let mut errors = FieldErrors::default();
    let name = errors.required("Name", name, NAME_MAX_CHARS);
    let name = errors.finish(|| name.expect("checked"))?;
    store
        .update_title(code.trim(), &name)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, code.trim()))
}

pub fn set_title_validity<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
    validity: &str,
) -> Result<Title, RegisterError> {
    let validity = requested_validity(validity)?;
    store
        .set_title_validity(code.trim(), validity)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, code.trim()))
}

/// Titles ordered by code (bytes, as relation types).
pub fn list_titles<S: RegisterRepository + ?Sized>(
    store: &mut S,
    validity: Option<&str>,
) -> Result<Vec<Title>, RegisterError> {
    let mut errors = FieldErrors::default();
    let validity = validity.and_then(|raw| errors.validity(raw));
    errors.finish(|| ())?;
    let mut titles = store.titles(validity)?;
    titles.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(titles)
}

// ----------------------------------------------------------- subscriptions

/// Today in UTC: the day subscription statuses and default end dates use.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn end_after_start(errors: &mut FieldErrors, start: NaiveDate, end: Option<NaiveDate>) {
    if let Some(end) = end.filter(|end| *end < start) {
        errors.add(
            "EndDate",
            format!("EndDate {end} is before the StartDate {start}."),
        );
    }
}

pub fn create_subscription<S: RegisterRepository + ?Sized>(
    store: &mut S,
    request: NewSubscription,
) -> Result<Subscription, RegisterError> {
    let mut errors = FieldErrors::default();
    positive_number(&mut errors, "CustomerNumber", request.customer_number);
    let title_code = errors.code("TitleCode", &request.title_code);
    end_after_start(&mut errors, request.start_date, request.end_date);
    let title_code = errors.finish(|| title_code.expect("checked"))?;

    let customer = get_customer(store, request.customer_number)?;
    let title = store
        .title(&title_code)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, &title_code))?;
    let mut errors = FieldErrors::default();
    if customer.validity != Validity::Valid {
        errors.add(
            "CustomerNumber",
            format!(
                "Customer {} is {}; only valid customers can subscribe.",
                customer.customer_number, customer.validity
            ),
        );
    }
    if title.validity != Validity::Valid {
        errors.add(
            "TitleCode",
            format!(
                "Title '{}' is {}; only valid titles can be subscribed to.",
                title.code, title.validity
            ),
        );
    }
    errors.finish(|| ())?;

    let subscription = NewSubscription {
        title_code,
        ..request
    };
    inserted(
        store.insert_subscription(&subscription)?,
        Entity::Subscription,
    )
}

/// Ends a subscription on `end_date` (today when not given). A subscription
/// that has already ended cannot be ended again.
pub fn end_subscription<S: RegisterRepository + ?Sized>(
    store: &mut S,
    id: i64,
    end_date: Option<NaiveDate>,
) -> Result<Subscription, RegisterError> {
    let not_found = || RegisterError::not_found(Entity::Subscription, id);
    let already_ended = |ended: NaiveDate| {
        RegisterError::invalid("Id", format!("Subscription {id} already ended on {ended}."))
    };
    let subscription = store.subscription(id)?.ok_or_else(not_found)?;
    let today = today();
    let end_date = end_date.unwrap_or(today);
    let mut errors = FieldErrors::default();
    if let Some(ended) = subscription.end_date.filter(|end| *end <= today) {
        return Err(already_ended(ended));
    }
    end_after_start(&mut errors, subscription.start_date, Some(end_date));
    errors.finish(|| ())?;
    match store.set_subscription_end(id, end_date, today)? {
        Some(ended) => Ok(ended),
        // Another request ended it since it was read.
        None => match store.subscription(id)?.and_then(|s| s.end_date) {
            Some(ended) => Err(already_ended(ended)),
            None => Err(not_found()),
        },
    }
}

pub fn subscriptions_of_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<Vec<Subscription>, RegisterError> {
    get_customer(store, customer_number)?;
    Ok(store.subscriptions_of_customer(customer_number)?)
}

// ------------------------------------------------------------------- users

/// A user's fields as a create or update request gives them.
#[derive(Debug, Clone, Default)]
pub struct UserDraft {
    pub email: String,
    pub name: Option<String>,
    pub customer_number: Option<i32>,
    pub validity: Option<String>,
}

/// The customer a user is linked to must exist, and be valid to be newly
/// linked.
fn check_user_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<(), RegisterError> {
    let customer = get_customer(store, customer_number)?;
    if customer.validity != Validity::Valid {
        return Err(RegisterError::invalid(
            "CustomerNumber",
            format!(
                "Customer {customer_number} is {}; users can only be linked to valid customers.",
                customer.validity
            ),
        ));
    }
    Ok(())
}

/// The fields create and update share: (email, name), checked into `errors`.
fn user_fields(draft: &UserDraft, errors: &mut FieldErrors) -> (Option<String>, Option<String>) {
    let email = errors.email("Email", &draft.email);
    let name = errors.optional("Name", draft.name.as_deref(), NAME_MAX_CHARS);
    if let Some(number) = draft.customer_number {
        positive_number(errors, "CustomerNumber", number);
    }
    (email, name)
}

pub fn create_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: UserDraft,
) -> Result<User, RegisterError> {
    let mut errors = FieldErrors::default();
    let (email, name) = user_fields(&draft, &mut errors);
    let validity = errors.validity_or_valid(draft.validity.as_deref());
    let user = errors.finish(|| User {
        email: email.expect("checked"),
        name,
        customer_number: draft.customer_number,
        validity: validity.expect("checked"),
    })?;
    if let Some(number) = user.customer_number {
        check_user_customer(store, number)?;
    }
    inserted(store.insert_user(&user)?, Entity::User)
}

pub fn update_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: UserDraft,
) -> Result<User, RegisterError> {
    let mut errors = FieldErrors::default();
    let (email, name) = user_fields(&draft, &mut errors);
    let email = errors.finish(|| email.expect("checked"))?;
    let current = get_user(store, &email)?;
    if let Some(number) = draft
        .customer_number
        .filter(|n| current.customer_number != Some(*n))
    {
        check_user_customer(store, number)?;
    }
    store
        .update_user(&email, name.as_deref(), draft.customer_number)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, &email))
}

/// By e-mail address, ignoring case.
pub fn get_user<S: RegisterRepository + ?Sized>(
    store: &mut S,
    email: &str,
) -> Result<User, RegisterError> {
    let key = email.trim().to_lowercase();
    store
        .user(&key)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, key))
}

pub fn set_user_validity<S: RegisterRepository + ?Sized>(
    store: &mut S,
    email: &str,
    validity: &str,
) -> Result<User, RegisterError> {
    let validity = requested_validity(validity)?;
    let key = email.trim().to_lowercase();
    store
        .set_user_validity(&key, validity)?
        .ok_or_else(|| RegisterError::not_found(Entity::User, key))
}

// ---------------------------------------------------------- relation types

const SUBSCRIPTION_TITLE_RULE: &str = "a relation type that refers to subscriptions must have TitleMode Required: a subscription is a customer's subscription to one title, so a relation without a title cannot name one (reference 004, Caution)";

fn check_relation_type(draft: &RelationTypeDraft) -> Result<RelationType, RegisterError> {
    let mut errors = FieldErrors::default();
    let code = errors.code("Code", &draft.code);
    let name = errors.required("Name", &draft.name, NAME_MAX_CHARS);
    let reference_type =
        errors.enumeration::<ReferenceType>("ReferenceType", &draft.reference_type);
    let title_mode = errors.enumeration::<TitleMode>("TitleMode", &draft.title_mode);
    if reference_type == Some(ReferenceType::Subscription)
        && title_mode.is_some_and(|m| m != TitleMode::Required)
    {
        errors.add(
            "TitleMode",
            format!(
                "TitleMode {} is not allowed: {SUBSCRIPTION_TITLE_RULE}.",
                title_mode.expect("checked")
            ),
        );
    }
    errors.finish(|| RelationType {
        code: code.expect("checked"),
        name: name.expect("checked"),
        reference_type: reference_type.expect("checked"),
        title_mode: title_mode.expect("checked"),
    })
}

pub fn create_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: RelationTypeDraft,
) -> Result<RelationType, RegisterError> {
    let relation_type = check_relation_type(&draft)?;
    inserted(
        store.insert_relation_type(&relation_type)?,
        Entity::RelationType,
    )
}

/// The outcome of a change to relation type `code` that relations using it
/// may stand in the way of; `reason` says why they do.
fn guarded<T>(
    outcome: Guarded<T>,
    code: &str,
    reason: impl FnOnce() -> String,
) -> Result<T, RegisterError> {
    match outcome {
        Guarded::Done(value) => Ok(value),
        Guarded::NotFound => Err(RegisterError::not_found(Entity::RelationType, code)),
        Guarded::InUse(references) => Err(RegisterError::InUse {
            entity: Entity::RelationType,
            key: code.to_owned(),
            references,
            what: "customer relations",
            reason: reason(),
        }),
    }
}

pub fn update_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    draft: RelationTypeDraft,
) -> Result<RelationType, RegisterError> {
    let relation_type = check_relation_type(&draft)?;
    let outcome = store.update_relation_type(&relation_type)?;
    guarded(outcome, &relation_type.code, || {
        format!(
            "its ReferenceType cannot change to {}, since existing relations were checked as the old one.",
            relation_type.reference_type
        )
    })
}

pub fn delete_relation_type<S: RegisterRepository + ?Sized>(
    store: &mut S,
    code: &str,
) -> Result<(), RegisterError> {
    let code = code.trim();
    let outcome = store.delete_relation_type(code)?;
    guarded(outcome, code, || "delete those relations first.".to_owned())
}

pub fn get_relation_type<S: CustomerDirectory + ?Sized>(
    store: &mut S,
    code: &str,
) -> Result<RelationType, RegisterError> {
    let code = code.trim();
    store
        .relation_type(code)?
        .ok_or_else(|| RegisterError::not_found(Entity::RelationType, code))
}

/// Ordered by code, as the relation service's GetRelationTypes.
pub fn list_relation_types<S: CustomerDirectory + ?Sized>(
    store: &mut S,
) -> Result<Vec<RelationType>, RegisterError> {
    crate::relations::relation_types(store).map_err(|e| match e {
        RelationError::Internal(internal) => RegisterError::Internal(internal),
        other => RegisterError::Internal(InternalError::new(other.to_string())),
    })
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

    #[test]
    fn status_follows_the_dates() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let s = Subscription {
            id: 1,
            customer_number: 1,
            title_code: "T".into(),
            start_date: day(10),
            end_date: Some(day(20)),
        };
        assert_eq!(
            s.status_on(day(9)),
            super::super::SubscriptionStatus::Pending
        );
        assert_eq!(
            s.status_on(day(10)),
            super::super::SubscriptionStatus::Active
        );
        assert_eq!(
            s.status_on(day(19)),
            super::super::SubscriptionStatus::Active
        );
        assert_eq!(
            s.status_on(day(20)),
            super::super::SubscriptionStatus::Ended
        );
    }
}
