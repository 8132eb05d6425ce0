//! The register service's messages. As for the relation service, a request
//! that breaks the WSDL's schema in shape (unknown or repeated elements, a
//! number or date that is not one) is a Client fault; a required text that
//! is missing or blank, and an enumeration value the WSDL does not list, are
//! field rules, reported together in an `EntityValidationFault`.

use chrono::NaiveDate;

pub use super::messages::write_relation_type;
use super::messages::{Fields, only_child};
use super::xml_out::XmlOut;
use super::xml_tree::XmlElement;
use crate::register::{
    Customer, CustomerFields, CustomerPage, CustomerSearch, NewCustomer, NewSubscription,
    RelationTypeDraft, Subscription, Title, User, UserDraft,
};

/// A required text: missing reads as empty, which the rules refuse.
fn text(fields: &Fields<'_>, name: &str) -> String {
    fields.get(name).unwrap_or_default().to_owned()
}

/// `xs:date`: `YYYY-MM-DD`, optionally with a time zone, which is ignored
/// (a date is a calendar day).
fn date(fields: &Fields<'_>, name: &str) -> Result<Option<NaiveDate>, String> {
    let Some(raw) = fields.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let not_a_date = || format!("{name} must be an xs:date (YYYY-MM-DD); '{raw}' is not.");
    let (day, zone) = raw.split_at(raw.len().min(10));
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone[1..3].bytes().all(|b| b.is_ascii_digit())
            && &zone[3..4] == ":"
            && zone[4..].bytes().all(|b| b.is_ascii_digit()));
    if !zone_ok || day.len() != 10 {
        return Err(not_a_date());
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| not_a_date())
}

fn required_date(fields: &Fields<'_>, name: &str) -> Result<NaiveDate, String> {
    date(fields, name)?.ok_or_else(|| format!("The request must hold {name}."))
}

const CUSTOMER_FIELDS: [&str; 7] = ["Name", "Street", "Zip", "City", "Country", "Url", "Comment"];

fn customer_fields(fields: &Fields<'_>) -> CustomerFields {
    CustomerFields {
        name: text(fields, "Name"),
        street: fields.optional("Street"),
        zip: fields.optional("Zip"),
        city: fields.optional("City"),
        country: fields.optional("Country"),
        url: fields.optional("Url"),
        comment: fields.optional("Comment"),
    }
}

pub fn decode_relation_type(element: &XmlElement) -> Result<RelationTypeDraft, String> {
    let fields = Fields::read(
        only_child(element, "RelationType")?,
        &["Code", "Name", "ReferenceType", "TitleMode"],
    )?;
    Ok(RelationTypeDraft {
        code: text(&fields, "Code"),
        name: text(&fields, "Name"),
        reference_type: text(&fields, "ReferenceType"),
        title_mode: text(&fields, "TitleMode"),
    })
}

pub fn decode_code(element: &XmlElement) -> Result<String, String> {
    let fields = Fields::read(element, &["Code"])?;
    Ok(fields.required("Code")?.trim().to_owned())
}

pub fn decode_nothing(element: &XmlElement) -> Result<(), String> {
    Fields::read(element, &[]).map(drop)
}

pub fn decode_new_customer(element: &XmlElement) -> Result<NewCustomer, String> {
    let mut allowed = vec!["CustomerNumber", "Validity"];
    allowed.extend(CUSTOMER_FIELDS);
    let fields = Fields::read(only_child(element, "Customer")?, &allowed)?;
    Ok(NewCustomer {
        customer_number: fields.optional_integer("CustomerNumber", "xs:int")?,
        fields: customer_fields(&fields),
        validity: fields.optional("Validity"),
    })
}

pub fn decode_customer_update(element: &XmlElement) -> Result<(i32, CustomerFields), String> {
    let mut allowed = vec!["CustomerNumber"];
    allowed.extend(CUSTOMER_FIELDS);
    let fields = Fields::read(only_child(element, "Customer")?, &allowed)?;
    Ok((
        fields.integer("CustomerNumber", "xs:int")?,
        customer_fields(&fields),
    ))
}

pub fn decode_customer_number(element: &XmlElement) -> Result<i32, String> {
    Fields::read(element, &["CustomerNumber"])?.integer("CustomerNumber", "xs:int")
}

pub fn decode_customer_validity(element: &XmlElement) -> Result<(i32, String), String> {
    let fields = Fields::read(element, &["CustomerNumber", "Validity"])?;
    Ok((
        fields.integer("CustomerNumber", "xs:int")?,
        text(&fields, "Validity"),
    ))
}

pub fn decode_search_customers(element: &XmlElement) -> Result<CustomerSearch, String> {
    let fields = Fields::read(
        element,
        &[
            "CustomerNumber",
            "Name",
            "City",
            "Zip",
            "Validity",
            "SortBy",
            "SortDirection",
            "Offset",
            "Limit",
        ],
    )?;
    Ok(CustomerSearch {
        customer_number: fields.optional("CustomerNumber"),
        name: fields.optional("Name"),
        city: fields.optional("City"),
        zip: fields.optional("Zip"),
        validity: fields.optional("Validity"),
        sort_by: fields.optional("SortBy"),
        direction: fields.optional("SortDirection"),
        offset: fields
            .optional_integer::<i32>("Offset", "xs:int")?
            .map(i64::from),
        limit: fields
            .optional_integer::<i32>("Limit", "xs:int")?
            .map(i64::from),
    })
}

/// (Code, Name, Validity).
pub fn decode_new_title(element: &XmlElement) -> Result<(String, String, Option<String>), String> {
    let fields = Fields::read(only_child(element, "Title")?, &["Code", "Name", "Validity"])?;
    Ok((
        text(&fields, "Code"),
        text(&fields, "Name"),
        fields.optional("Validity"),
    ))
}

/// (Code, Name).
pub fn decode_title_update(element: &XmlElement) -> Result<(String, String), String> {
    let fields = Fields::read(element, &["Code", "Name"])?;
    Ok((fields.required("Code")?.to_owned(), text(&fields, "Name")))
}

pub fn decode_list_titles(element: &XmlElement) -> Result<Option<String>, String> {
    Ok(Fields::read(element, &["Validity"])?.optional("Validity"))
}

/// (Code, Validity).
pub fn decode_title_validity(element: &XmlElement) -> Result<(String, String), String> {
    let fields = Fields::read(element, &["Code", "Validity"])?;
    Ok((
        fields.required("Code")?.to_owned(),
        text(&fields, "Validity"),
    ))
}

pub fn decode_new_subscription(element: &XmlElement) -> Result<NewSubscription, String> {
    let fields = Fields::read(
        only_child(element, "Subscription")?,
        &["CustomerNumber", "TitleCode", "StartDate", "EndDate"],
    )?;
    Ok(NewSubscription {
        customer_number: fields.integer("CustomerNumber", "xs:int")?,
        title_code: text(&fields, "TitleCode"),
        start_date: required_date(&fields, "StartDate")?,
        end_date: date(&fields, "EndDate")?,
    })
}

pub fn decode_end_subscription(element: &XmlElement) -> Result<(i64, Option<NaiveDate>), String> {
    let fields = Fields::read(element, &["Id", "EndDate"])?;
    Ok((fields.integer("Id", "xs:long")?, date(&fields, "EndDate")?))
}

fn user_draft(element: &XmlElement, allowed: &[&'static str]) -> Result<UserDraft, String> {
    let fields = Fields::read(only_child(element, "User")?, allowed)?;
    Ok(UserDraft {
        email: text(&fields, "Email"),
        name: fields.optional("Name"),
        customer_number: fields.optional_integer("CustomerNumber", "xs:int")?,
        validity: fields.optional("Validity"),
    })
}

pub fn decode_new_user(element: &XmlElement) -> Result<UserDraft, String> {
    user_draft(element, &["Email", "Name", "CustomerNumber", "Validity"])
}

pub fn decode_user_update(element: &XmlElement) -> Result<UserDraft, String> {
    user_draft(element, &["Email", "Name", "CustomerNumber"])
}

pub fn decode_email(element: &XmlElement) -> Result<String, String> {
    Ok(Fields::read(element, &["Email"])?
        .required("Email")?
        .to_owned())
}

/// (Email, Validity).
pub fn decode_user_validity(element: &XmlElement) -> Result<(String, String), String> {
    let fields = Fields::read(element, &["Email", "Validity"])?;
    Ok((
        fields.required("Email")?.to_owned(),
        text(&fields, "Validity"),
    ))
}

pub use super::messages::encode_relation_types as write_relation_types;

pub fn write_customer(out: &mut XmlOut, customer: &Customer) {
    let f = &customer.fields;
    out.open("Customer", &[]);
    out.text_element("CustomerNumber", &customer.customer_number.to_string());
    out.text_element("Name", &f.name);
    out.optional_element("Street", f.street.as_deref());
    out.optional_element("Zip", f.zip.as_deref());
    out.optional_element("City", f.city.as_deref());
    out.optional_element("Country", f.country.as_deref());
    out.optional_element("Url", f.url.as_deref());
    out.optional_element("Comment", f.comment.as_deref());
    out.text_element("Validity", customer.validity.as_str());
    out.close("Customer");
}

pub fn write_customer_page(out: &mut XmlOut, page: &CustomerPage) {
    out.text_element("TotalCount", &page.total_count.to_string());
    out.text_element("Offset", &page.offset.to_string());
    out.open("Customers", &[]);
    for customer in &page.customers {
        write_customer(out, customer);
    }
    out.close("Customers");
}

pub fn write_title(out: &mut XmlOut, title: &Title) {
    out.open("Title", &[]);
    out.text_element("Code", &title.code);
    out.text_element("Name", &title.name);
    out.text_element("Validity", title.validity.as_str());
    out.close("Title");
}

pub fn write_titles(out: &mut XmlOut, titles: &[Title]) {
    out.open("Titles", &[]);
    for title in titles {
        write_title(out, title);
    }
    out.close("Titles");
}

/// With its status on `today`.
pub fn write_subscription(out: &mut XmlOut, subscription: &Subscription, today: NaiveDate) {
    out.open("Subscription", &[]);
    out.text_element("Id", &subscription.id.to_string());
    out.text_element("CustomerNumber", &subscription.customer_number.to_string());
    out.text_element("TitleCode", &subscription.title_code);
    out.text_element("StartDate", &subscription.start_date.to_string());
    out.optional_element(
        "EndDate",
        subscription.end_date.map(|d| d.to_string()).as_deref(),
    );
    out.text_element("Status", subscription.status_on(today).as_str());
    out.close("Subscription");
}

pub fn write_subscriptions(out: &mut XmlOut, subscriptions: &[Subscription], today: NaiveDate) {
    out.open("Subscriptions", &[]);
    for subscription in subscriptions {
        write_subscription(out, subscription, today);
    }
    out.close("Subscriptions");
}

pub fn write_user(out: &mut XmlOut, user: &User) {
    out.open("User", &[]);
    out.text_element("Email", &user.email);
    out.optional_element("Name", user.name.as_deref());
    out.optional_element(
        "CustomerNumber",
        user.customer_number.map(|n| n.to_string()).as_deref(),
    );
    out.text_element("Validity", user.validity.as_str());
    out.close("User");
}
